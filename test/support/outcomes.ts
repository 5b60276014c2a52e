/**
 * What a call that must fail failed with, for tests that then assert on the error itself (its
 * class, its field, its message). Each fails the test when the call does not fail.
 */

/** Runs `act` and returns what it threw. */
export function thrownBy(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** What `promise` rejected with. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}
