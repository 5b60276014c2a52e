/**
 * Glue follows the file catalog: after every commit of a table, its Glue table (`<table>_iceberg`,
 * `table_type=ICEBERG`, created by the stack) is moved to the new metadata file the way pyiceberg's
 * Glue catalog commits — `GetTable`, then `UpdateTable` with the `VersionId` read and
 * `SkipArchive` (no table version archived per commit), `metadata_location` the new file and
 * `previous_metadata_location` the one replaced. A `ConcurrentModificationException` (another
 * commit moved it between the two calls) means read again and retry. The file catalog stays the
 * record: when Glue already names this version or a later one of the same table, it is left as it is.
 */
import { GetTableCommand, type GlueClient, type Table, type TableInput, UpdateTableCommand } from '@aws-sdk/client-glue';
import { randomInt } from 'node:crypto';
import { StoreError, StoreUnavailableError } from '../../core/errors.js';
import type { CatalogFollower } from './commit.js';

/** The Glue table that follows the lake's Iceberg table `table` (beside the Hive table of the same data, `table`). */
export function glueIcebergTableName(table: string): string {
  return `${table}_iceberg`;
}

/** What the follower needs of a Glue client: `send` of `GetTable` and `UpdateTable`. */
export type GlueTables = Pick<GlueClient, 'send'>;

const METADATA_FILE = /^(.*\/)v(\d+)\.metadata\.json$/;
const MAX_ATTEMPTS = 20;

/** True when `current` names version `version` of the table at `location`, or a later one. */
function atOrAfter(current: string | undefined, location: string, version: number): boolean {
  const ours = METADATA_FILE.exec(location);
  const theirs = current === undefined ? null : METADATA_FILE.exec(current);
  return ours !== null && theirs !== null && theirs[1] === ours[1] && Number(theirs[2]) >= version;
}

/** The `TableInput` that keeps everything of `table` but its parameters. */
function inputOf(table: Table, parameters: Record<string, string>): TableInput {
  const { Name, Description, Owner, Retention, StorageDescriptor, PartitionKeys, TableType, TargetTable } = table;
  return { Name, Description, Owner, Retention, StorageDescriptor, PartitionKeys, TableType, TargetTable, Parameters: parameters };
}

const errorName = (error: unknown) => (error as { name?: string }).name ?? '';

/** Glue's answer as the project's errors: throttling and server faults are transient, the rest terminal. */
function glueError(error: unknown, what: string): Error {
  const fault = (error as { $fault?: string; $retryable?: unknown }).$fault === 'server' || (error as { $retryable?: unknown }).$retryable;
  const message = `${what}: ${errorName(error)} ${(error as Error).message ?? ''}`.trim();
  return fault || /Throttl|TooManyRequests/.test(errorName(error))
    ? new StoreUnavailableError(message, { cause: error })
    : new StoreError(message, { cause: error });
}

export class GlueCatalogFollower implements CatalogFollower {
  constructor(
    readonly glue: GlueTables,
    readonly database: string,
    readonly maxAttempts = MAX_ATTEMPTS,
  ) {}

  async follow(table: string, metadataLocation: string, version: number): Promise<void> {
    const name = glueIcebergTableName(table);
    const what = `Glue table ${this.database}.${name}`;
    for (let attempt = 1; ; attempt++) {
      let current: Table | undefined;
      try {
        current = (await this.glue.send(new GetTableCommand({ DatabaseName: this.database, Name: name }))).Table;
      } catch (error) {
        throw glueError(error, what);
      }
      if (!current) throw new StoreError(`${what} does not exist`);
      const previous = current.Parameters?.metadata_location;
      if (atOrAfter(previous, metadataLocation, version)) return;
      const parameters: Record<string, string> = {
        ...current.Parameters,
        table_type: 'ICEBERG',
        metadata_location: metadataLocation,
        ...(previous ? { previous_metadata_location: previous } : {}),
      };
      try {
        await this.glue.send(
          new UpdateTableCommand({ DatabaseName: this.database, TableInput: inputOf(current, parameters), VersionId: current.VersionId, SkipArchive: true }),
        );
        return;
      } catch (error) {
        if (errorName(error) !== 'ConcurrentModificationException') throw glueError(error, what);
        if (attempt >= this.maxAttempts) throw new StoreUnavailableError(`${what}: moved by others ${attempt} times in a row; retry`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, randomInt(5, Math.min(1_000, 20 * 2 ** Math.min(attempt, 6)))));
      }
    }
  }
}
