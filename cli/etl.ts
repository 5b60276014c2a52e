#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --initial-old-space-size=64
/**
 * The `etl` executable (`dist/cli/etl.js` once built): checks the Node version, then runs `main`
 * and exits with its code.
 *
 * glibc's allocator keeps at most two arenas (MALLOC_ARENA_MAX): a local run encodes Parquet on a
 * worker thread, and each thread's own arena kept memory the process no longer used. Measured on
 * `etl run` of a 1,000,000-row day (pairs at load 3): peak RSS 215-232 MiB instead of 244-248 MiB,
 * the time within the noise. glibc reads it at start-up only, hence the shebang.
 *
 * The young generation is kept at 2 MB a semi-space: a run streams batches through buffers that
 * die young, and frequent scavenges give their memory back sooner. Measured on `etl run` of a
 * 1,000,000-row day: peak RSS 233-250 MiB instead of 262-289 MiB, no slower. The flag must be
 * given at start-up (V8 ignores it set later), hence the shebang, which `npm start` and
 * `npm run etl` run through.
 *
 * The old generation starts at 64 MB (`--initial-old-space-size`): its heap holds some 15 MB, but
 * V8's limit for a full collection counts the batches' buffers in flight too (about 40 MB), so from
 * the default start a 1,000,000-row run made 14-23 full collections, one every 40 ms, with their
 * marking on the other core. Measured (8 interleaved runs each, load 0.6): 3 full collections,
 * wall 1.36 s instead of 1.44 s, CPU 1.52 s instead of 1.73 s, peak RSS 214-223 MiB instead of
 * 196-216 MiB; 128 MB was faster still (1.31 s) at 225-229 MiB, too near the 256 MiB target.
 *
 * This module imports nothing statically (but `node:module`'s `createRequire`, the build's banner,
 * which every Node has): on an older Node the version check must run before any import that would
 * fail there (`enableCompileCache` is Node 22's) and say what to do instead.
 */

/** The oldest Node the CLI runs on (package.json `engines`); the Lambdas run on 24. */
const MINIMUM_NODE_MAJOR = 22;

const major = Number(process.versions.node.split('.')[0]);
if (major < MINIMUM_NODE_MAJOR) {
  process.stderr.write(
    `etl: needs Node >= ${MINIMUM_NODE_MAJOR}, found v${process.versions.node}; get Node 24 with: export PATH="$(bash dev/node24.sh):$PATH" (or nvm install 24)\n`,
  );
  process.exit(2);
}

// V8's code cache on disk (Node's compile cache, in the temporary directory): later runs skip
// compiling the modules they load. Enabled before the command's modules are imported.
const { enableCompileCache } = await import('node:module');
enableCompileCache();
const { main } = await import('./main.js');
const code = await main(process.argv.slice(2));
// Exit explicitly once the output is flushed: open sockets would otherwise keep the process alive,
// and exit hooks of libraries could replace the exit code.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
