/**
 * `tsx dev/bench/iceberg-commits.ts [--days 3660]`: how the Iceberg metadata of `rentals` grows
 * over daily commits (ten years by default) on a local-directory lake: one new day a commit, each
 * day one file, as a daily schedule or a backfill commits. Prints the current metadata.json's
 * size, the metadata folder's size and the commit time (median and slowest of the last 100).
 * The data files are never read, so none is written.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseLakeUri } from '../../src/core/config.js';
import { addDays, parseDay } from '../../src/core/day.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { commitIcebergChange } from '../../src/lake/iceberg/commit.js';
import { latestVersion, versionKey } from '../../src/lake/iceberg/file-catalog.js';
import { icebergMetadataPrefix } from '../../src/lake/iceberg/table-model.js';
import { dataFileKey } from '../../src/lake/layout.js';

const { values } = parseArgs({ options: { days: { type: 'string', default: '3660' } } });
const days = Number(values.days);
const root = await mkdtemp(join(tmpdir(), 'iceberg-commits-'));
const store = new FsStore(parseLakeUri(root));
const load = loadavg()[0];
const times: number[] = [];
const started = performance.now();
let day = parseDay('2016-01-01');
for (let i = 0; i < days; i++, day = addDays(day, 1)) {
  const t = performance.now();
  await commitIcebergChange(store, 'rentals', {
    added: [{ key: dataFileKey(day, '20260101T000000000Z-00000000', 0), rows: 30_000, bytes: 2_000_000 }],
    removed: [],
  });
  times.push(performance.now() - t);
}
const total = (performance.now() - started) / 1000;
const version = await latestVersion(store, 'rentals');
const metadataBytes = (await store.head(versionKey('rentals', version)))?.size ?? 0;
const folder = await store.list(icebergMetadataPrefix('rentals'));
const last = times.slice(-100).sort((a, b) => a - b);
console.log(
  JSON.stringify({
    commits: days,
    seconds: Math.round(total * 10) / 10,
    currentMetadataBytes: metadataBytes,
    metadataFolderBytes: folder.reduce((n, o) => n + o.size, 0),
    metadataFolderFiles: folder.length,
    lastHundredCommitMs: { median: Math.round(last[50] * 10) / 10, max: Math.round(last.at(-1)! * 10) / 10 },
    load: { before: load, after: loadavg()[0] },
  }),
);
await rm(root, { recursive: true, force: true });
