/**
 * The object-store contract, run against both implementations: a local directory and a real
 * S3-compatible HTTP endpoint.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLakeUri } from '../../src/core/config.js';
import { PreconditionFailedError, StagingError, StoreError } from '../../src/core/errors.js';
import { FsStore, SWAP_LOCK_STALE_MS, temporaryFileName } from '../../src/lake/fs-store.js';
import { S3Store } from '../../src/lake/s3-store.js';
import type { ObjectStore } from '../../src/lake/store.js';
import { createBucket, s3Endpoint, useS3Credentials } from '../support/s3.js';

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

function contract(name: string, open: () => Promise<{ store: ObjectStore; close: () => Promise<void> }>) {
  describe(name, () => {
    let store: ObjectStore;
    let close: () => Promise<void>;

    beforeAll(async () => {
      ({ store, close } = await open());
    });
    afterAll(async () => close?.());

    it('puts, heads, reads whole and ranged, and lists under a prefix in key order', async () => {
      // Act
      await store.putObject('a/b/2.txt', 'two');
      await store.putObject('a/b/1.txt', 'one');
      await store.putObject('a/c.txt', 'see');
      const listed = await store.list('a/b/');

      // Assess
      expect(listed.map((o) => [o.key, o.size])).toEqual([
        ['a/b/1.txt', 3],
        ['a/b/2.txt', 3],
      ]);
      expect(Buffer.from((await store.getObject('a/b/2.txt'))!.body).toString()).toBe('two');
      expect(Buffer.from(await store.readRange('a/c.txt', 1, 3)).toString()).toBe('ee');
      expect((await store.head('a/c.txt'))?.size).toBe(3);
      expect(await store.head('a/missing.txt')).toBeUndefined();
      expect(await store.getObject('a/missing.txt')).toBeUndefined();
      await expect(store.readStream('a/missing.txt')).rejects.toBeInstanceOf(StagingError);
    });

    it('create-only puts fail when the key exists; if-match puts fail on a stale ETag', async () => {
      // Prepare
      const first = await store.putObject('cond/m.json', '{"v":1}', { ifNoneMatch: true });

      // Act
      const again = await store.putObject('cond/m.json', '{"v":2}', { ifNoneMatch: true }).catch((e: unknown) => e);
      const swapped = await store.putObject('cond/m.json', '{"v":3}', { ifMatch: (await store.head('cond/m.json'))!.etag });
      const stale = await store.putObject('cond/m.json', '{"v":4}', { ifMatch: first.etag }).catch((e: unknown) => e);

      // Assess
      expect(again).toBeInstanceOf(PreconditionFailedError);
      expect(swapped.etag).toBeDefined();
      expect(stale).toBeInstanceOf(PreconditionFailedError);
      expect(Buffer.from((await store.getObject('cond/m.json'))!.body).toString()).toBe('{"v":3}');
      expect((await store.getObject('cond/m.json'))!.etag).toBe(swapped.etag);
    });

    it('streams a large upload (multipart on S3) and reads it back byte for byte', async () => {
      // Prepare
      const body = randomBytes(17 * 1024 * 1024);
      const chunks = Array.from({ length: 17 }, (_, i) => body.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024));

      // Act
      const { bytes } = await store.upload('big/blob.bin', Readable.from(chunks), 'application/octet-stream');
      const back = await collect(await store.readStream('big/blob.bin'));

      // Assess
      expect(bytes).toBe(body.length);
      expect(back.equals(body)).toBe(true);
    });

    it('deletes keys, missing ones included, across more than one request batch', async () => {
      // Prepare
      const keys = Array.from({ length: 1_005 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
      // 50 at a time, as many as the SDK has sockets: more would wait for one past the request timeout on a loaded machine.
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.putObject(k, 'x')));

      // Act
      await store.deleteObjects([...keys, 'many/never-existed']);

      // Assess
      expect(await store.list('many/')).toEqual([]);
    });
  });
}

contract('FsStore (local directory)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'store-'));
  return { store: new FsStore(parseLakeUri(root)), close: () => rm(root, { recursive: true, force: true }) };
});

describe('FsStore keys', () => {
  it('rejects keys that would leave the lake directory', async () => {
    // Prepare
    const root = await mkdtemp(join(tmpdir(), 'store-'));
    const store = new FsStore(parseLakeUri(root));

    // Act
    const escaped = await store.putObject('a/../../escape.txt', 'x').catch((e: unknown) => e);

    // Assess
    expect(escaped).toBeInstanceOf(StoreError);
    await rm(root, { recursive: true, force: true });
  });
});

describe('FsStore swap locks (an if-match put holds `<key>.lock` for a stat and a rename)', () => {
  /** The pid of a process that has ended. */
  const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!;

  it.each([
    ['a dead process on this host', 'taken over', (): string => temporaryFileName(deadPid()), 0],
    ['this live process', 'refused', (): string => temporaryFileName(), 0],
    ['this live process, older than the stale age', 'taken over', (): string => temporaryFileName(), SWAP_LOCK_STALE_MS + 5_000],
    ['a process on another host', 'refused', (): string => temporaryFileName(process.pid, 'elsewhere.example'), 0],
    [
      'a process on another host, older than the stale age',
      'taken over',
      (): string => temporaryFileName(process.pid, 'elsewhere.example'),
      SWAP_LOCK_STALE_MS + 5_000,
    ],
    ['nobody it can name (an unreadable lock), older than the stale age', 'taken over', (): string => '', SWAP_LOCK_STALE_MS + 5_000],
  ] as const)('a lock left by %s is %s', async (_who, expected, holder, ageMs) => {
    // Prepare
    const root = await mkdtemp(join(tmpdir(), 'store-'));
    const store = new FsStore(parseLakeUri(root));
    const { etag } = await store.putObject('m/manifest.json', '{"v":1}');
    const lock = join(root, 'm', 'manifest.json.lock');
    await writeFile(lock, `${holder()}\n`);
    const at = new Date(Date.now() - ageMs);
    await utimes(lock, at, at);

    // Act
    const put = await store.putObject('m/manifest.json', '{"v":2}', { ifMatch: etag }).then(
      () => 'taken over',
      (error: unknown) => error,
    );

    // Assess
    const body = Buffer.from((await store.getObject('m/manifest.json'))!.body).toString();
    if (expected === 'taken over') {
      expect(put).toBe('taken over');
      expect(body).toBe('{"v":2}');
      expect(existsSync(lock)).toBe(false);
    } else {
      expect(put).toBeInstanceOf(PreconditionFailedError);
      expect((put as Error).message).toBe('m/manifest.json is being replaced by another writer');
      expect(body).toBe('{"v":1}');
      expect(existsSync(lock)).toBe(true);
    }
    expect(await readdir(join(root, '.tmp'))).toEqual([]);
    await rm(root, { recursive: true, force: true });
  });
});

describe.skipIf(!s3Endpoint)('S3Store against the S3-compatible endpoint', () => {
  contract('S3Store', async () => {
    useS3Credentials(s3Endpoint!);
    const bucket = await createBucket(s3Endpoint!);
    const store = new S3Store(parseLakeUri(`s3://${bucket}/lake/root`), { region: 'us-east-1', endpoint: s3Endpoint });
    return { store, close: async () => store.client.destroy() };
  });
});
