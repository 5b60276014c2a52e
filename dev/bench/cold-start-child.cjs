// Child of bench/cold-start.ts, run by plain `node` (no tsx, so nothing but the bundle is loaded):
//   node bench/cold-start-child.cjs <bundle/index.js> '<event JSON>' ['{ "path", "body" } of a lock to place before each call']
// Times require() of a Lambda bundle (its module initialisation), then a first and a second call of
// its handler with the event, and prints one JSON line: { importMs, firstCallMs, warmCallMs,
// peakRssKb, output } (output: the second call's). The handler's own log lines come before it on stdout.
'use strict';

const [bundle, eventJson, lockJson] = process.argv.slice(2);
const event = JSON.parse(eventJson);
const { mkdirSync, writeFileSync } = require('node:fs');
const { dirname } = require('node:path');

/** Puts the partition lock `{ path, body }` of the third argument (if any) in place. */
function placeLock() {
  if (!lockJson) return;
  const { path, body } = JSON.parse(lockJson);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, body);
}

const importStarted = performance.now();
const { handler } = require(bundle);
const importMs = performance.now() - importStarted;

async function main() {
  placeLock();
  const firstStarted = performance.now();
  await handler(event);
  const firstCallMs = performance.now() - firstStarted;
  placeLock();
  const warmStarted = performance.now();
  // The later call's output: a handler that makes a new run each call (plan-day) holds the lock with it.
  const output = await handler(event);
  const warmCallMs = performance.now() - warmStarted;
  const peakRssKb = process.resourceUsage().maxRSS;
  process.stdout.write(`${JSON.stringify({ importMs, firstCallMs, warmCallMs, peakRssKb, output })}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : String(error)}\n`);
  process.exit(1);
});
