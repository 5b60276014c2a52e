/**
 * Writes the state machine definition the stack synthesizes (default props) to
 * `dist/definition.json`, where `src/pipeline/definition.ts` reads it. `dev/build.mjs` bundles and
 * runs this once per build, so nothing at run time has to load aws-cdk-lib.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { definitionPath } from '../src/pipeline/definition.js';
import { synthesizeDefinition } from './definition.js';

const path = definitionPath();
mkdirSync(dirname(path), { recursive: true });
writeFileSync(path, `${JSON.stringify(synthesizeDefinition(), null, 2)}\n`);
process.stdout.write(`${path}\n`);
