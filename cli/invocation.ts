/**
 * How the user runs `etl` here, for the commands the CLI prints ("Stop it with: etl start --stop"):
 * every printed command must run as printed. `etl` when it is on the PATH (after `npm link`, or a
 * global install of the checkout), else `npm run -s etl --` inside the project (npm finds the script
 * from any subfolder; `-s` keeps its banner off stdout), else the executable's own path.
 */
import { realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { projectRoot } from './project.js';

/** The real path of `path`, or undefined when it does not exist. */
function realPath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * The command line that runs this `etl` from the working directory, with `entry` the executable this
 * process runs (`process.argv[1]`: `dist/cli/etl.js`).
 */
export function etlCommand(env: NodeJS.ProcessEnv = process.env, entry: string | undefined = process.argv[1], from: string = process.cwd()): string {
  const self = entry === undefined ? undefined : realPath(entry);
  const onPath = (env.PATH ?? '').split(delimiter).some((folder) => folder !== '' && self !== undefined && realPath(join(folder, 'etl')) === self);
  if (onPath) return 'etl';
  if (projectRoot(from) !== undefined) return 'npm run -s etl --';
  return self ?? 'etl';
}
