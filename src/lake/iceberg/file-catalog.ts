/**
 * The Hadoop file catalog: table versions are `metadata/v<N>.metadata.json`, each written with a
 * put-if-absent (of two writers of version N exactly one succeeds: that write is the commit), then
 * `metadata/version-hint.text` says N to catalog-less readers (DuckDB's `iceberg_scan`, pyiceberg's
 * `StaticTable`, icebird). The hint may lag behind a concurrent commit; the latest version is the
 * hint's, or a later one that exists.
 */
import { PreconditionFailedError } from '../../core/errors.js';
import type { ObjectStore } from '../store.js';
import { icebergMetadataPrefix, keyOfLocation } from './table-model.js';
import type { TableMetadata } from './table-metadata.js';

/** A metadata file is gone: a concurrent commit superseded and removed it, so a newer version exists. */
export class MetadataGoneError extends PreconditionFailedError {}

export function versionKey(table: string, version: number): string {
  return `${icebergMetadataPrefix(table)}v${version}.metadata.json`;
}

export function versionHintKey(table: string): string {
  return `${icebergMetadataPrefix(table)}version-hint.text`;
}

const VERSION_FILE = /\/v(\d+)\.metadata\.json$/;

/** The latest committed version of `table` (0: the table has none yet). */
export async function latestVersion(store: ObjectStore, table: string): Promise<number> {
  const hint = await store.getObject(versionHintKey(table));
  let version = hint ? Number.parseInt(Buffer.from(hint.body).toString('utf8'), 10) : Number.NaN;
  if (!Number.isInteger(version)) {
    const versions = (await store.list(icebergMetadataPrefix(table))).map((o) => Number(VERSION_FILE.exec(o.key)?.[1] ?? 0));
    version = Math.max(0, ...versions);
  }
  while (await store.head(versionKey(table, version + 1))) version += 1;
  return version;
}

export interface TableVersion {
  readonly version: number;
  readonly key: string;
  readonly metadata: TableMetadata;
}

/** The table's metadata at `version`. */
export async function readVersion(store: ObjectStore, table: string, version: number): Promise<TableVersion> {
  const key = versionKey(table, version);
  const object = await store.getObject(key);
  if (!object) throw new MetadataGoneError(`${key} does not exist`);
  return { version, key, metadata: JSON.parse(Buffer.from(object.body).toString('utf8')) as TableMetadata };
}

/** The table's latest metadata, or undefined when no commit made it yet. */
export async function readLatest(store: ObjectStore, table: string): Promise<TableVersion | undefined> {
  const version = await latestVersion(store, table);
  return version === 0 ? undefined : readVersion(store, table, version);
}

/** Commits `metadata` as `version`: throws `PreconditionFailedError` when another writer committed it first. */
export async function writeVersion(store: ObjectStore, table: string, version: number, metadata: TableMetadata): Promise<string> {
  const key = versionKey(table, version);
  await store.putObject(key, JSON.stringify(metadata), { contentType: 'application/json', ifNoneMatch: true });
  return key;
}

/** Points catalog-less readers at `version` (best effort: a lagging hint is caught up by the next commit). */
export async function writeVersionHint(store: ObjectStore, table: string, version: number): Promise<void> {
  await store.putObject(versionHintKey(table), String(version), { contentType: 'text/plain' });
}

/** The lake key of a location inside the lake (a metadata or data file's). */
export function lakeKeyOf(store: ObjectStore, url: string): string {
  const key = keyOfLocation(store.location, url);
  if (key === undefined) throw new Error(`${url} is outside the lake ${store.location.uri}`);
  return key;
}

/** The bytes of the metadata file at `url`; `MetadataGoneError` when a concurrent commit removed it. */
export async function readLocation(store: ObjectStore, url: string): Promise<Uint8Array> {
  const object = await store.getObject(lakeKeyOf(store, url));
  if (!object) throw new MetadataGoneError(`${url} does not exist`);
  return object.body;
}
