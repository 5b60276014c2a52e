#!/usr/bin/env node
// Entry point of `npm run bench`: runs the TypeScript benchmark through tsx's loader.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../dev/bench/main.ts');
process.exitCode = await main(process.argv.slice(2));
