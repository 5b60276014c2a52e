/**
 * The built `etl` run by a Node older than it supports: one line naming the version it needs, the
 * one found and how to get Node 24, exit 2; no stack trace from an import that fails there.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ETL_BIN } from '../support/cli.js';

/** The machine's own Node (Debian's, say), when it is older than the CLI's minimum. */
const OLD_NODE = '/usr/bin/node';
const oldMajor = existsSync(OLD_NODE) ? Number(spawnSync(OLD_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.split('.')[0]) : undefined;
const skipReason =
  oldMajor === undefined ? `no ${OLD_NODE} on this machine` : oldMajor >= 22 ? `${OLD_NODE} is Node ${oldMajor}, not older than 22` : undefined;

describe('etl on Node older than 22', () => {
  it.skipIf(skipReason !== undefined)(
    `says which Node it needs and how to get it, in one line, exit 2 (${skipReason ?? `${OLD_NODE} is Node ${oldMajor}`})`,
    () => {
      // Act
      const result = spawnSync(OLD_NODE, [ETL_BIN, 'status'], { encoding: 'utf8', timeout: 30_000 });

      // Assess
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trimEnd().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^etl: needs Node >= 22, found v${oldMajor}\\.\\S+; get Node 24 with: .*dev/node24\\.sh`)),
      ]);
    },
  );
});
