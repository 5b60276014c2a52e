// Child of bench/cold-start.ts, run by plain `node` (no tsx, so nothing but the bundle is loaded):
//   node bench/cold-start-child.cjs <bundle/index.js> '<event JSON>'
// Times require() of a Lambda bundle (its module initialisation), then a first and a second call of
// its handler with the event, and prints one JSON line: { importMs, firstCallMs, warmCallMs,
// peakRssKb, output }. The handler's own log lines come before it on stdout.
'use strict';

const [bundle, eventJson] = process.argv.slice(2);
const event = JSON.parse(eventJson);

const importStarted = performance.now();
const { handler } = require(bundle);
const importMs = performance.now() - importStarted;

async function main() {
  const firstStarted = performance.now();
  const output = await handler(event);
  const firstCallMs = performance.now() - firstStarted;
  const warmStarted = performance.now();
  await handler(event);
  const warmCallMs = performance.now() - warmStarted;
  const peakRssKb = process.resourceUsage().maxRSS;
  process.stdout.write(`${JSON.stringify({ importMs, firstCallMs, warmCallMs, peakRssKb, output })}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : String(error)}\n`);
  process.exit(1);
});
