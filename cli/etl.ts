#!/usr/bin/env node
/**
 * The `etl` executable (`dist/cli/etl.js` once built): runs `main` and exits with its code.
 */
import { main } from './main.js';

const code = await main(process.argv.slice(2));
// Exit explicitly once the output is flushed: open sockets would otherwise keep the process alive,
// and exit hooks of libraries could replace the exit code.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
