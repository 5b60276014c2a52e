/**
 * Where the Iceberg tables' metadata lives, beside the Hive folders and not in them
 * (`_iceberg/<table>/metadata/`): a module of its own, free of the schemas, so that the stage
 * registry can name the keys a stage that commits a table may touch.
 */

/** Where every Iceberg table's metadata lives: beside the Hive folders, not in them. */
export const ICEBERG_ROOT = '_iceberg/';

/** The metadata folder of `table` (Hadoop layout: `v<N>.metadata.json`, `version-hint.text`, Avro manifests). */
export function icebergMetadataPrefix(table: string): string {
  return `${ICEBERG_ROOT}${table}/metadata/`;
}

/** The key pattern of `table`'s metadata: what a stage that commits the table reads, lists, writes and deletes. */
export function icebergKeyPattern(table: string): string {
  return `${icebergMetadataPrefix(table)}*`;
}

/** The metadata prefix a key pattern of `icebergKeyPattern` names the table of, or undefined. */
export function icebergTableOfPattern(pattern: string): string | undefined {
  return /^_iceberg\/([^/]+)\/metadata\/\*$/.exec(pattern)?.[1];
}
