/**
 * An object store that fails on purpose: wraps a real store and throws on the Nth call of one
 * operation (optionally only for matching keys), and on the `times - 1` matching calls after it
 * (a fault that lasts through the state machine's retries). With `die`, every later call fails
 * too, which is what a process killed at that point looks like from the lake: nothing after it
 * happens, no clean-up included.
 */
import type { Readable } from 'node:stream';
import type { ObjectInfo, ObjectStore, PutOptions } from '../../src/lake/store.js';

export type StoreOperation = 'putObject' | 'upload' | 'getObject' | 'readStream' | 'readRange' | 'head' | 'list' | 'deleteObjects' | 'promote';

export interface Fault {
  readonly operation: StoreOperation;
  /** Only calls whose key matches count. */
  readonly key?: RegExp;
  /** Which matching call fails (1 = the first). */
  readonly nth?: number;
  /** How many matching calls fail from the Nth on (1 by default; Infinity: every one). */
  readonly times?: number;
  readonly error: () => Error;
  readonly die?: boolean;
}

export class FaultyStore implements ObjectStore {
  readonly location: ObjectStore['location'];
  fired = false;
  private dead = false;
  private seen = 0;

  constructor(
    private readonly inner: ObjectStore,
    private readonly fault: Fault,
  ) {
    this.location = inner.location;
  }

  private check(operation: StoreOperation, key: string): void {
    if (this.dead) throw new Error(`process is dead (${operation} ${key})`);
    if (operation !== this.fault.operation || (this.fault.key && !this.fault.key.test(key))) return;
    this.seen++;
    const first = this.fault.nth ?? 1;
    if (this.seen >= first && this.seen < first + (this.fault.times ?? 1)) {
      this.fired = true;
      if (this.fault.die) this.dead = true;
      throw this.fault.error();
    }
  }

  async putObject(key: string, body: Uint8Array | string, options?: PutOptions) {
    this.check('putObject', key);
    return this.inner.putObject(key, body, options);
  }
  async upload(key: string, body: Readable | AsyncIterable<Uint8Array>, contentType: string) {
    this.check('upload', key);
    return this.inner.upload(key, body, contentType);
  }
  async getObject(key: string) {
    this.check('getObject', key);
    return this.inner.getObject(key);
  }
  async readStream(key: string) {
    this.check('readStream', key);
    return this.inner.readStream(key);
  }
  async readRange(key: string, start: number, end: number) {
    this.check('readRange', key);
    return this.inner.readRange(key, start, end);
  }
  async head(key: string): Promise<ObjectInfo | undefined> {
    this.check('head', key);
    return this.inner.head(key);
  }
  async list(prefix: string) {
    this.check('list', prefix);
    return this.inner.list(prefix);
  }
  async deleteObjects(keys: readonly string[]) {
    this.check('deleteObjects', keys.join(' '));
    return this.inner.deleteObjects(keys);
  }
  async promote(from: string, to: string) {
    this.check('promote', to);
    return this.inner.promote(from, to);
  }
}
