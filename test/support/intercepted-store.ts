/**
 * A real store with some of its calls intercepted: each interceptor gets the call's arguments and
 * the real method, and decides when (or whether) to call it. For forcing an interleaving of two
 * writers with latches, never with sleeps.
 */
import type { ObjectStore } from '../../src/lake/store.js';

type Method = Exclude<keyof ObjectStore, 'location'>;
type Interceptors = {
  [M in Method]?: (args: Parameters<NonNullable<ObjectStore[M]>>, next: NonNullable<ObjectStore[M]>) => ReturnType<NonNullable<ObjectStore[M]>>;
};

export function interceptStore(store: ObjectStore, interceptors: Interceptors): ObjectStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      const real = value.bind(target);
      const intercept = interceptors[property as Method] as ((args: unknown[], next: unknown) => unknown) | undefined;
      return intercept ? (...args: unknown[]) => intercept(args, real) : real;
    },
  });
}
