/**
 * A lake in a local directory. Writes go to a temporary file first and are renamed into place,
 * so a reader sees an object whole or not at all, as on S3.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { LakeLocation } from '../core/config.js';
import { PreconditionFailedError } from '../core/errors.js';
import { StagingError, StoreError } from '../core/errors.js';
import { processGone } from './lease.js';
import type { ObjectInfo, ObjectStore, PutOptions } from './store.js';

const TMP_DIR = '.tmp';

/**
 * A temporary file's name: its writer's pid and host, then a random part (`<pid>@<host>.<uuid>`),
 * so that a sweep knows a file whose writer is provably gone (this host, a dead pid: the rule the
 * lease applies to its holder) without waiting for it to age.
 */
export function temporaryFileName(pid: number = process.pid, host: string = hostname()): string {
  return `${pid}@${host}.${randomUUID()}`;
}

/** The writer a temporary file's name records; undefined for a name of another form (an older one). */
export function tempWriter(name: string): { pid: number; host: string } | undefined {
  const match = /^(\d+)@(.+)\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.exec(name);
  return match ? { pid: Number(match[1]), host: match[2] } : undefined;
}

/** Whether the process that wrote temporary file `name` is provably gone: it ran on this host and its pid is dead. */
function writerGone(name: string): boolean {
  const writer = tempWriter(name);
  return writer !== undefined && writer.host === hostname() && writer.pid > 0 && processGone(writer.pid);
}

/**
 * A file's version: its inode and modification time. Every write renames a new file into place,
 * so each write gets a new ETag, without reading the content.
 */
function etagOf(info: { ino: bigint; mtimeNs: bigint }): string {
  return `${info.ino}-${info.mtimeNs}`;
}

/** How old a swap lock must be to be taken over when its holder's liveness is unknown (another host, no name). */
export const SWAP_LOCK_STALE_MS = 30_000;

/** A swap lock's version and whether it is stale; undefined when there is none. */
async function readSwapLock(lock: string): Promise<{ version: string; stale: boolean } | undefined> {
  try {
    const handle = await open(lock, 'r');
    try {
      const info = await handle.stat({ bigint: true });
      const old = Date.now() - Number(info.mtimeNs / 1_000_000n) > SWAP_LOCK_STALE_MS;
      return { version: etagOf(info), stale: writerGone((await handle.readFile('utf8')).trim()) || old };
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Runs `place`, which puts a file into `target`'s folder, creating the folder first; again if the
 * folder vanished meanwhile (a deletion elsewhere removed it as empty between the two steps).
 */
async function intoFolder<T>(target: string, place: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      await mkdir(dirname(target), { recursive: true });
      return await place();
    } catch (error) {
      const lost =
        (error as NodeJS.ErrnoException).code === 'ENOENT' &&
        !(await stat(dirname(target)).then(
          () => true,
          () => false,
        ));
      if (!lost || attempt >= 5) throw error;
    }
  }
}

export class FsStore implements ObjectStore {
  readonly location: LakeLocation & { kind: 'fs' };

  constructor(location: LakeLocation) {
    if (location.kind !== 'fs') throw new StoreError(`FsStore needs a directory, got ${location.uri}`);
    this.location = location;
  }

  private path(key: string): string {
    if (key.split('/').some((s) => s === '..' || s === '.') || key.startsWith('/')) {
      throw new StoreError(`object key must stay inside the lake: ${key}`);
    }
    return join(this.location.root, ...key.split('/'));
  }

  private async tempFile(): Promise<string> {
    const dir = join(this.location.root, TMP_DIR);
    await mkdir(dir, { recursive: true });
    return join(dir, temporaryFileName());
  }

  async putObject(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<{ etag: string }> {
    const target = this.path(key);
    const tmp = await this.tempFile();
    await writeFile(tmp, body);
    const etag = etagOf(await stat(tmp, { bigint: true }));
    try {
      await intoFolder(target, async () => {
        if (options.ifNoneMatch) {
          // link() fails when the target exists: create-if-absent with the full content at once.
          await link(tmp, target).catch((error: NodeJS.ErrnoException) => {
            if (error.code === 'EEXIST') throw new PreconditionFailedError(`${key} already exists`);
            throw error;
          });
        } else if (options.ifMatch !== undefined) {
          await this.swapIfMatch(key, target, tmp, options.ifMatch);
        } else {
          await rename(tmp, target);
        }
      });
    } finally {
      await rm(tmp, { force: true });
    }
    return { etag };
  }

  /**
   * Replaces `target` only if its content still has `etag`, under a lock file (`<target>.lock`)
   * held for a stat and a rename. A writer killed in between leaves it behind: it is taken over
   * once provably stale (`takeSwapLock`), or the key could never be replaced again.
   */
  private async swapIfMatch(key: string, target: string, tmp: string, etag: string): Promise<void> {
    const lock = await this.takeSwapLock(key, `${target}.lock`);
    try {
      const current = await stat(target, { bigint: true }).catch(() => undefined);
      if (current === undefined || etagOf(current) !== etag) throw new PreconditionFailedError(`${key} changed since it was read`);
      await rename(tmp, target);
    } finally {
      await unlink(lock);
    }
  }

  /**
   * Creates the swap lock `lock` with its holder's name in it (`<pid>@<host>.<uuid>`, a hard link
   * to a file written first, so it never exists empty). One that exists belongs to a live writer
   * (PreconditionFailedError), unless it is stale: its holder ran on this host and is dead, or it
   * is older than SWAP_LOCK_STALE_MS (a swap takes milliseconds). A stale one is moved aside and
   * taken, if what was moved is the version judged stale (else it is put back: a live writer's).
   */
  private async takeSwapLock(key: string, lock: string): Promise<string> {
    // Its holder's name is the temporary file's own (`temporaryFileName`: pid, host, random part).
    const mine = await this.tempFile();
    await writeFile(mine, `${basename(mine)}\n`);
    try {
      for (let attempt = 1; ; attempt++) {
        const taken = await link(mine, lock).then(
          () => true,
          (error: NodeJS.ErrnoException) => {
            if (error.code === 'EEXIST') return false;
            throw error;
          },
        );
        if (taken) return lock;
        const held = await readSwapLock(lock);
        if (held === undefined) continue; // released meanwhile
        if (!held.stale || attempt >= 3) throw new PreconditionFailedError(`${key} is being replaced by another writer`);
        const aside = await this.tempFile();
        if (
          !(await rename(lock, aside).then(
            () => true,
            () => false,
          ))
        )
          continue; // released or taken over meanwhile
        const moved = await stat(aside, { bigint: true });
        if (etagOf(moved) !== held.version) {
          // A live writer's lock, taken after the stale one was read: give it back.
          await link(aside, lock).catch(() => undefined);
          await unlink(aside);
          throw new PreconditionFailedError(`${key} is being replaced by another writer`);
        }
        await unlink(aside);
      }
    } finally {
      await rm(mine, { force: true });
    }
  }

  async upload(key: string, body: Readable | AsyncIterable<Uint8Array>, _contentType: string): Promise<{ bytes: number }> {
    const target = this.path(key);
    const tmp = await this.tempFile();
    try {
      await pipeline(body instanceof Readable ? body : Readable.from(body), createWriteStream(tmp));
      const { size } = await stat(tmp);
      await intoFolder(target, () => rename(tmp, target));
      return { bytes: size };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async getObject(key: string): Promise<{ body: Uint8Array; etag: string } | undefined> {
    try {
      // One open file: the ETag and the bytes are of the same version even if it is replaced meanwhile.
      const handle = await open(this.path(key), 'r');
      try {
        return { etag: etagOf(await handle.stat({ bigint: true })), body: await handle.readFile() };
      } finally {
        await handle.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async readStream(key: string): Promise<AsyncIterable<Uint8Array>> {
    const path = this.path(key);
    await stat(path).catch(() => {
      throw new StagingError(`${key} does not exist in ${this.location.uri}`);
    });
    return createReadStream(path, { highWaterMark: 1 << 20 });
  }

  async readRange(key: string, start: number, end: number): Promise<Uint8Array> {
    const handle = await open(this.path(key), 'r');
    try {
      const buffer = Buffer.alloc(end - start);
      const { bytesRead } = await handle.read(buffer, 0, end - start, start);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const info = await stat(this.path(key), { bigint: true });
      if (!info.isFile()) return undefined;
      return { key, size: Number(info.size), etag: etagOf(info) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? this.location.root : this.path(prefix.slice(0, slash));
    let names: string[] = [];
    for (let attempt = 1; ; attempt++) {
      try {
        names = await readdir(base, { recursive: true });
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        // Gone: nothing to list. Still there: a folder under it vanished mid-walk (a concurrent deletion); walk again.
        if (
          !(await stat(base).then(
            () => true,
            () => false,
          )) ||
          attempt >= 5
        )
          return [];
      }
    }
    const out: ObjectInfo[] = [];
    for (const name of names) {
      const key = relative(this.location.root, join(base, name)).split(sep).join('/');
      if (!key.startsWith(prefix) || key.startsWith(`${TMP_DIR}/`) || key.endsWith('.lock')) continue;
      // Gone since the listing (a concurrent deletion): not there.
      const info = await stat(join(base, name)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (info?.isFile()) out.push({ key, size: info.size });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async deleteObjects(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((key) => rm(this.path(key), { force: true })));
    const folders = new Set(keys.map((key) => dirname(this.path(key))));
    for (const folder of [...folders].sort((a, b) => b.length - a.length)) await this.removeEmptyFolders(folder);
  }

  /**
   * Removes `folder` and its parents while they are empty, up to the lake's top-level folders
   * (`rentals`, `_staging`, ...), which stay: every writer creates its folder anew (`intoFolder`).
   */
  private async removeEmptyFolders(folder: string): Promise<void> {
    for (let dir = folder; dirname(dir).startsWith(this.location.root + sep); dir = dirname(dir)) {
      // rmdir fails on a folder that is not empty (or that another writer just filled): then stop.
      if (
        !(await rmdir(dir).then(
          () => true,
          () => false,
        ))
      )
        return;
    }
  }

  async promote(from: string, to: string): Promise<void> {
    const target = this.path(to);
    // A hard link to the staged file under a temporary name, renamed over the target: it appears
    // whole at once (replacing what was there), and the staged file stays for a retry.
    const tmp = await this.tempFile();
    try {
      await link(this.path(from), tmp);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        if (await this.head(to)) return; // an earlier attempt promoted it, and its staging is gone
        throw new StagingError(`${from} does not exist in ${this.location.uri}, nor ${to}`, { cause: error });
      }
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw error;
      await copyFile(this.path(from), tmp); // no hard links here: a copy
    }
    try {
      await intoFolder(target, () => rename(tmp, target));
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * Temporary files of writes that never finished, removed: those whose writer is provably gone (a
   * killed process on this host) at once, the others once older than `olderThanMs`.
   */
  async sweepTemporaryFiles(olderThanMs: number, now = Date.now()): Promise<number> {
    const dir = join(this.location.root, TMP_DIR);
    const names = await readdir(dir).catch(() => [] as string[]);
    let removed = 0;
    for (const name of names) {
      const info = await stat(join(dir, name)).catch(() => undefined);
      if (info && (writerGone(name) || now - info.mtimeMs > olderThanMs)) {
        await rm(join(dir, name), { force: true });
        removed += 1;
      }
    }
    return removed;
  }
}
