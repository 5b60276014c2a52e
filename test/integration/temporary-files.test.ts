/**
 * A local lake's temporary files (`.tmp/`) name their writer: a file a `kill -9` left behind goes at
 * the next `etl clean` or `etl unlock` at once when its writer is provably gone (this host, a dead
 * pid), instead of after ten minutes; a live writer's file stays.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { FsStore, temporaryFileName, tempWriter } from '../../src/lake/fs-store.js';
import { runMain } from '../support/capture.js';

/** A process started and killed with SIGKILL, as `kill -9` does: its pid is dead. */
async function killedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
  await new Promise((resolve) => child.once('spawn', resolve));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return child.pid!;
}

describe('temporary files of a local lake', () => {
  let lake: string;
  let store: FsStore;

  beforeEach(async () => {
    lake = await mkdtemp(join(tmpdir(), 'tmp-files-'));
    store = new FsStore(loadConfig({ LAKE_URI: lake }).lake);
  });
  afterEach(async () => {
    await rm(lake, { recursive: true, force: true });
  });

  it('are named after the process writing them and its host', async () => {
    // Prepare: an upload that waits for the rest of its body
    const body = new PassThrough();
    const upload = store.upload('rentals/x.parquet', body, 'application/octet-stream');
    body.write('partial');
    await new Promise((resolve) => setTimeout(resolve, 50));

    // Act
    const names = await readdir(join(lake, '.tmp'));
    body.end();
    await upload;

    // Assess
    expect(names).toHaveLength(1);
    expect(tempWriter(names[0])).toEqual({ pid: process.pid, host: hostname() });
  });

  it.each([['clean', ['clean']] as const, ['unlock', ['unlock', '--date', '2025-08-01']] as const])(
    'etl %s removes at once a fresh one whose writer was killed, and keeps those of live or unknown writers',
    async (_name, argv) => {
      // Prepare: written a moment ago, by a process killed since, by this live one, by another host's
      const dead = temporaryFileName(await killedPid());
      const live = temporaryFileName(process.pid);
      const elsewhere = temporaryFileName(await killedPid(), `not-${hostname()}`);
      await mkdir(join(lake, '.tmp'));
      for (const name of [dead, live, elsewhere]) await writeFile(join(lake, '.tmp', name), 'a partial write');

      // Act
      const { code, out, err } = await runMain(argv, { LAKE_URI: lake });

      // Assess
      expect(code, err.join('\n')).toBe(0);
      expect(out.join('\n')).toMatch(/1 unfinished temporary file\(s\)/);
      expect((await readdir(join(lake, '.tmp'))).sort()).toEqual([elsewhere, live].sort());
    },
  );
});
