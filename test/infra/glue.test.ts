/**
 * The Glue tables Athena reads the lake through: columns from the one schema declaration, Parquet,
 * and for `rentals` partition projection on integer year/month/day over the folders the layout
 * writes, so that no crawler and no partition registration is ever needed.
 */
import { describe, expect, it } from 'vitest';
import { stackPropsFromContext } from '../../infra/context.js';
import { glueTypeOf } from '../../infra/constructs/lake-tables.js';
import { glueIcebergTableName } from '../../src/lake/iceberg/glue-catalog.js';
import { ICEBERG_TABLES } from '../../src/lake/iceberg/table-model.js';
import { icebergMetadataPrefix } from '../../src/lake/iceberg/metadata-layout.js';
import { lakeSchema, RENTALS, stagingSchema } from '../../src/core/schema.js';
import { dataFileKey, rentalsPartitionPrefix, snapshotKey } from '../../src/lake/layout.js';
import { buildStack, logicalId } from './support.js';

type TableInput = {
  Name: string;
  TableType: string;
  Parameters: Record<string, unknown>;
  PartitionKeys?: { Name: string; Type: string }[];
  StorageDescriptor: {
    Columns: { Name: string; Type: string; Comment?: string }[];
    Location: unknown;
    InputFormat: string;
    OutputFormat: string;
    SerdeInfo: { SerializationLibrary: string };
  };
};

const { template } = buildStack();
const bucket = logicalId(template, 'AWS::S3::Bucket', 'LakeBucket');
const tables = Object.fromEntries(
  Object.values(template.findResources('AWS::Glue::Table')).map((r) => {
    const input = (r as { Properties: { TableInput: TableInput } }).Properties.TableInput;
    return [input.Name, input];
  }),
) as Record<string, TableInput>;

/** Athena's placeholder of a projected column in `storage.location.template`. */
const projected = (column: string) => `\${${column}}`;
/** The partition part of the location template. */
const PARTITION_TEMPLATE = `year=${projected('year')}/month=${projected('month')}/day=${projected('day')}/`;

/** An S3 location as the template writes it with the lake bucket's reference, with that reference replaced by `bucket`. */
function location(value: unknown, name = 'my-bucket'): string {
  const [, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return parts.map((p) => (typeof p === 'string' ? p : (p as { Ref: string }).Ref === bucket ? name : JSON.stringify(p))).join('');
}

describe('Glue database and tables', () => {
  it('are one database named after the stack, with rentals and every snapshot table', () => {
    template.resourceCountIs('AWS::Glue::Database', 1);
    template.hasResourceProperties('AWS::Glue::Database', { CatalogId: { Ref: 'AWS::AccountId' }, DatabaseInput: { Name: 'test_stack' } });
    const names = [RENTALS.name, ...RENTALS.snapshots.map((s) => s.name)];
    expect(Object.keys(tables).sort()).toEqual([...names, ...names.map(glueIcebergTableName)].sort());
    for (const table of Object.values(template.findResources('AWS::Glue::Table')) as { Properties: { DatabaseName: string } }[]) {
      expect(table.Properties.DatabaseName).toBe('test_stack');
    }
  });

  it('rentals has the lake schema as columns, and the Parquet SerDe', () => {
    const rentals = tables.rentals;
    expect(rentals.StorageDescriptor.Columns.map((c) => [c.Name, c.Type])).toEqual(lakeSchema(RENTALS).fields.map((f) => [f.name, glueTypeOf(f.type)]));
    expect(rentals.StorageDescriptor.Columns.find((c) => c.Name === 'rent_cost')?.Type).toBe('decimal(12,2)');
    expect(rentals.StorageDescriptor.Columns.find((c) => c.Name === 'rent_start')?.Type).toBe('timestamp');
    expect(rentals.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
    expect(rentals.StorageDescriptor.InputFormat).toBe('org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat');
    expect(rentals.StorageDescriptor.OutputFormat).toBe('org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat');
    expect(rentals).toMatchObject({ TableType: 'EXTERNAL_TABLE', Parameters: { classification: 'parquet' } });
  });

  it('rentals projects year, month and day as integers, month and day with two digits', () => {
    const rentals = tables.rentals;
    expect(rentals.PartitionKeys).toEqual([
      { Name: 'year', Type: 'int' },
      { Name: 'month', Type: 'int' },
      { Name: 'day', Type: 'int' },
    ]);
    expect(rentals.Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.year.type': 'integer',
      'projection.month.type': 'integer',
      'projection.month.range': '1,12',
      'projection.month.digits': '2',
      'projection.day.type': 'integer',
      'projection.day.range': '1,31',
      'projection.day.digits': '2',
    });
    expect(rentals.Parameters['projection.year.digits']).toBeUndefined();
  });

  it("rentals' location template names the partition folder the layout writes a day's data files into", () => {
    // Arrange
    const day = { year: 2025, month: 3, day: 1, iso: '2025-03-01' };
    const template_ = location(tables.rentals.Parameters['storage.location.template']);
    // Act: fill the template as Athena does, with the digits the projection asks for.
    const filled = template_.replace(projected('year'), '2025').replace(projected('month'), '03').replace(projected('day'), '01');
    // Assess
    expect(template_).toBe(`s3://my-bucket/lake/rentals/${PARTITION_TEMPLATE}`);
    expect(filled).toBe(`s3://my-bucket/lake/${rentalsPartitionPrefix(day)}`);
    expect(`s3://my-bucket/lake/${dataFileKey(day, '20250302T013000000Z-0a1b2c3d', 0)}`.startsWith(filled)).toBe(true);
    expect(location(tables.rentals.StorageDescriptor.Location)).toBe('s3://my-bucket/lake/rentals/');
  });

  it('each snapshot table reads the folder of its one Parquet file, with its declared columns', () => {
    for (const snapshot of RENTALS.snapshots) {
      const table = tables[snapshot.name];
      const folder = location(table.StorageDescriptor.Location);
      expect(`s3://my-bucket/lake/${snapshotKey(snapshot.name)}`.startsWith(folder), snapshot.name).toBe(true);
      expect(folder).toBe(`s3://my-bucket/lake/${snapshot.name}/`);
      expect(table.StorageDescriptor.Columns.map((c) => [c.Name, c.Type])).toEqual(stagingSchema(snapshot).fields.map((f) => [f.name, glueTypeOf(f.type)]));
      expect(table.PartitionKeys ?? []).toEqual([]);
      expect(table.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
    }
  });

  it('each Iceberg table has a Glue table of table_type ICEBERG at its location, with its columns; the functions set metadata_location', () => {
    for (const iceberg of Object.values(ICEBERG_TABLES)) {
      // Prepare
      const table = tables[glueIcebergTableName(iceberg.name)];
      // Assess
      expect(table).toMatchObject({ TableType: 'EXTERNAL_TABLE', Parameters: { table_type: 'ICEBERG' } });
      // No metadata file exists at deploy: the first commit names it (a metadata_location here would be reset by every deploy).
      expect(table.Parameters.metadata_location).toBeUndefined();
      expect(`${location(table.StorageDescriptor.Location)}/metadata/`).toBe(`s3://my-bucket/lake/${icebergMetadataPrefix(iceberg.name)}`);
      expect(table.StorageDescriptor.Columns.map((c) => c.Name)).toEqual(iceberg.schema.fields.map((f) => f.name));
      expect(table.PartitionKeys ?? []).toEqual([]);
    }
    const rentals = tables[glueIcebergTableName('rentals')].StorageDescriptor.Columns;
    expect(Object.fromEntries(rentals.map((c) => [c.Name, c.Type]))).toMatchObject({
      rental_id: 'bigint',
      rent_cost: 'decimal(12,2)',
      rent_start: 'timestamp',
      year: 'int',
    });
  });

  it('follow the lake prefix and an existing bucket, and take the database name from context', () => {
    // Act
    const { template: rooted } = buildStack({ existingBucketName: 'existing-lake', lakePrefix: '', glueDatabaseName: 'rides' });
    const rentals = Object.values(rooted.findResources('AWS::Glue::Table'))
      .map((r) => (r as { Properties: { TableInput: TableInput } }).Properties.TableInput)
      .find((t) => t.Name === 'rentals') as TableInput;
    // Assess
    expect(rentals.Parameters['storage.location.template']).toBe(`s3://existing-lake/rentals/${PARTITION_TEMPLATE}`);
    rooted.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'rides' } });
    expect(() => buildStack({ glueDatabaseName: 'My-Lake' })).toThrow(/glueDatabaseName/);
    expect(stackPropsFromContext((key) => (key === 'glueDatabaseName' ? 'rides' : undefined)).props.glueDatabaseName).toBe('rides');
  });
});
