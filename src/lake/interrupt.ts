/**
 * An execution's interrupt token (a local run's Ctrl-C): once interrupted, no new write to the
 * run's staging starts and no publish that has not committed goes on. Each execution holds its
 * own token (`LakeSession`), so interrupting one leaves another in the same process publishing.
 * See docs/protocol.md, "Interruption".
 */
import { InterruptedError } from '../core/errors.js';
import { STAGING_ROOT } from './layout.js';
import type { ObjectStore } from './store.js';

export class InterruptToken {
  #interrupted = false;
  readonly #inFlight = new Set<Promise<unknown>>();

  get interrupted(): boolean {
    return this.#interrupted;
  }

  /** Throws `InterruptedError` once the execution was interrupted. */
  throwIfInterrupted(): void {
    if (this.#interrupted) throw new InterruptedError('the run was interrupted: nothing more is published');
  }

  /** Runs `work` as a step that `interrupt` waits for (a publish: it commits or gives up, never half-way). */
  async track<T>(work: () => Promise<T>): Promise<T> {
    this.throwIfInterrupted();
    const running = work();
    this.#inFlight.add(running);
    try {
      return await running;
    } finally {
      this.#inFlight.delete(running);
    }
  }

  /** Interrupts: nothing new starts; resolves once the tracked steps in flight have settled. */
  async interrupt(): Promise<void> {
    this.#interrupted = true;
    await Promise.allSettled([...this.#inFlight]);
  }

  /**
   * The lake as the stages of an interruptible execution write to it: once interrupted, no new
   * staged file, staged table or quarantine object is started, so the stages in flight stop at
   * their next write and nothing lands after the sweep. Every other call goes straight through.
   */
  guard(store: ObjectStore): ObjectStore {
    const token = this;
    const writes: Partial<Record<keyof ObjectStore, (key: string) => boolean>> = {
      putObject: (key) => key.startsWith(STAGING_ROOT),
      upload: () => true,
    };
    return new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        const guarded = writes[property as keyof ObjectStore];
        return (...args: unknown[]) => {
          if (guarded?.(args[0] as string)) token.throwIfInterrupted();
          return value.apply(target, args);
        };
      },
    });
  }
}
