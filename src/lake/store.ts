/**
 * The object store the lake lives in: one small interface, an S3 and a local-directory
 * implementation, chosen by `LAKE_URI`. Keys are relative to the lake root and use `/`.
 */
import type { Readable } from 'node:stream';
import type { LakeLocation } from '../core/config.js';

/** A temporary file this old belongs to no write in progress (`sweepTemporaryFiles`). */
export const UNFINISHED_WRITE_AGE_MS = 10 * 60_000;

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag?: string;
}

export interface PutOptions {
  readonly contentType?: string;
  /** Create only: fail with `PreconditionFailedError` when the key exists. */
  readonly ifNoneMatch?: boolean;
  /** Replace only the version with this ETag: fail with `PreconditionFailedError` otherwise. */
  readonly ifMatch?: string;
}

export interface ObjectStore {
  readonly location: LakeLocation;
  /** Writes a small object in one request; visible all at once or not at all. */
  putObject(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string | undefined }>;
  /** Streams a large object (multipart on S3); visible only once complete. Returns its size. */
  upload(key: string, body: Readable | AsyncIterable<Uint8Array>, contentType: string): Promise<{ bytes: number }>;
  /**
   * The whole object and the ETag of exactly these bytes (a conditional write that builds on them
   * passes it as `ifMatch`), or undefined when it does not exist.
   */
  getObject(key: string): Promise<{ body: Uint8Array; etag: string | undefined } | undefined>;
  /** The object as a byte stream; throws `StagingError` when it does not exist. */
  readStream(key: string): Promise<AsyncIterable<Uint8Array>>;
  /** Bytes [start, end) of the object. */
  readRange(key: string, start: number, end: number): Promise<Uint8Array>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes the keys; missing keys are not an error. A local folder left empty goes too. */
  deleteObjects(keys: readonly string[]): Promise<void>;
  /**
   * Makes `to` hold the bytes of `from`, whole at once for any reader: a hard link on a local disk,
   * a server-side copy on S3; `from` stays. Retry-safe (`to` is a run-unique name: when it exists,
   * an earlier attempt did the work). Throws `StagingError` when neither exists.
   */
  promote(from: string, to: string): Promise<void>;
  /**
   * Removes temporary files of writes that never finished: at once when their writer is provably
   * gone (a dead process on this host), else once older than `olderThanMs`; returns how many. Only a local directory has them (S3 drops incomplete uploads
   * by its lifecycle rule).
   */
  sweepTemporaryFiles?(olderThanMs: number): Promise<number>;
}
