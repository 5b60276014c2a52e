/**
 * A test that fails on purpose, kept out of `npm test`'s pattern: `.ci/run` runs it through the
 * suite's own configuration and global set-up and fails itself if that run exits 0, so a gate
 * that cannot go red (a library's exit hook replacing vitest's exit code) is caught on every run.
 */
import { expect, test } from 'vitest';

test('fails on purpose: the test command must exit non-zero', () => {
  expect(1).toBe(2);
});
