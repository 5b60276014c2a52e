/**
 * Where the CLI keeps what it makes when not told otherwise (the lake `./lake`, the embedded
 * Postgres's `.data/`): in the project's root folder, whatever subfolder the command runs in, so
 * that `etl status` in `docs/` sees the lake `npm start` made and `etl run` there starts no second one.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** The `name` of this project's package.json: the folder holding it is the project root. */
export const PACKAGE_NAME = 'pg-lake-etl';

/** The nearest folder from `from` upwards holding the package.json named `pg-lake-etl`; undefined outside a checkout. */
export function projectRoot(from: string = process.cwd()): string | undefined {
  for (let folder = from; ; folder = dirname(folder)) {
    try {
      if ((JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { name?: unknown }).name === PACKAGE_NAME) return folder;
    } catch {
      // no package.json here, or not one to read: look further up
    }
    if (dirname(folder) === folder) return undefined;
  }
}

/**
 * The folder the defaults live in: the project root, or the working directory outside a checkout
 * (a global install run elsewhere keeps its lake where it runs).
 */
export function homeFolder(from: string = process.cwd()): string {
  return projectRoot(from) ?? from;
}

/** `path` as a user in the working directory would type it: relative when inside it, else absolute. */
export function shownPath(path: string, from: string = process.cwd()): string {
  const shown = relative(from, path);
  return shown === '' ? '.' : shown.startsWith('..') ? path : shown;
}
