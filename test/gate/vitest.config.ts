/** The suite's configuration, global set-up included, running only the deliberately failing fixture. */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import suite from '../../vitest.config.js';

export default defineConfig({
  ...suite,
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: { ...suite.test, include: ['test/gate/*.fixture.ts'] },
});
