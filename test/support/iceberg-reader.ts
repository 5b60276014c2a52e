/**
 * An independent Iceberg reader for the tests: npm `icebird` (by the hyparquet authors; it shares
 * no code with this project's writer) reading a table through the file catalog
 * (`metadata/version-hint.text`, then `v<N>.metadata.json`, manifest list, manifests, Parquet).
 * icebird reads everything with `fetch`; while it runs, `file:` URLs are served from disk and
 * `https://<bucket>.s3.amazonaws.com/<key>` (what it makes of `s3://`) from the test endpoint
 * through the S3 SDK (signed, path style).
 */
import { readFile } from 'node:fs/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { fileURLToPath } from 'node:url';
import { icebergManifests, icebergMetadata, icebergRead } from 'icebird';
import type { TableMetadata } from '../../src/lake/iceberg/table-metadata.js';

const S3_URL = /^https:\/\/([^.]+)\.s3\.amazonaws\.com\/(.*)$/;

/** Runs `work` with `fetch` serving `file:` URLs from disk and S3 URLs from `s3Endpoint` (path style). */
export async function withLakeFetch<T>(s3Endpoint: string | undefined, work: () => Promise<T>): Promise<T> {
  const original = globalThis.fetch;
  // Signed reads (the endpoint, like S3, refuses anonymous ones), through the SDK's own HTTP client.
  const s3 = s3Endpoint
    ? new S3Client({ region: 'us-east-1', endpoint: s3Endpoint, forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
    : undefined;
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.startsWith('file:')) {
      let body: Buffer;
      try {
        body = await readFile(fileURLToPath(url));
      } catch {
        return new Response('not found', { status: 404 });
      }
      const range = /bytes=(\d+)-(\d*)/.exec(new Headers(init?.headers).get('range') ?? '');
      if (!range) return new Response(new Uint8Array(body), { status: 200, headers: { 'content-length': String(body.length) } });
      const start = Number(range[1]);
      const end = range[2] ? Number(range[2]) + 1 : body.length;
      return new Response(new Uint8Array(body.subarray(start, end)), { status: 206, headers: { 'content-length': String(end - start) } });
    }
    const s3Url = S3_URL.exec(url);
    if (!s3Url || !s3) return original(input, init);
    const range = new Headers(init?.headers).get('range') ?? undefined;
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: s3Url[1], Key: decodeURIComponent(s3Url[2]), Range: range }));
      return new Response(await object.Body!.transformToByteArray(), { status: range ? 206 : 200 });
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return new Response('not found', { status: 404 });
      throw error;
    }
  }) as typeof fetch;
  try {
    return await work();
  } finally {
    globalThis.fetch = original;
    s3?.destroy();
  }
}

export interface IcebergReadOut {
  readonly metadata: TableMetadata;
  readonly rows: Record<string, unknown>[];
  /** The current snapshot's live data files with their partition values, as its manifests say. */
  readonly files: { path: string; partition: Record<string, unknown>; records: number }[];
}

/**
 * The current snapshot of the table at `tableUrl` (or the metadata file `metadataFileName`), read by
 * icebird; with `asOf`, the snapshot that was current then (time travel as an engine does it: the
 * snapshot log of the latest metadata names it; icebird reads the snapshot the metadata calls current).
 */
export function readIcebergTable(tableUrl: string, options: { s3Endpoint?: string; metadataFileName?: string; asOf?: Date } = {}): Promise<IcebergReadOut> {
  return withLakeFetch(options.s3Endpoint, async () => {
    let metadata = await icebergMetadata({ tableUrl, metadataFileName: options.metadataFileName });
    if (options.asOf) {
      const at = options.asOf.getTime();
      const entry = metadata['snapshot-log']?.filter((e) => Number(e['timestamp-ms']) <= at).at(-1);
      if (!entry || !metadata.snapshots?.some((s) => s['snapshot-id'] === entry['snapshot-id']))
        throw new Error(`no snapshot of ${tableUrl} is kept as of ${options.asOf.toISOString()}`);
      metadata = { ...metadata, 'current-snapshot-id': entry['snapshot-id'] };
    }
    const manifests = await icebergManifests(metadata);
    const ours = metadata as unknown as TableMetadata;
    const files = manifests
      .flatMap((m) => m.entries)
      .filter((e) => e.status !== 2)
      .map((e) => ({ path: e.data_file.file_path, partition: e.data_file.partition as Record<string, unknown>, records: Number(e.data_file.record_count) }));
    const rows = files.length === 0 ? [] : await icebergRead({ tableUrl, metadata });
    return { metadata: ours, rows, files };
  });
}
