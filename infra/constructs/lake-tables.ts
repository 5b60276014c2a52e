/**
 * The lake as tables Athena (and any Glue Data Catalog reader) can query right after deploy, with
 * no crawler: a Glue database holding `rentals`, partitioned by `year`, `month`, `day` as integers
 * through partition projection (no partition is ever registered), and the snapshot tables
 * (`users`, `bikes`), one Parquet file each. Columns come from the table declarations
 * (`src/core/tables.ts`) through their Arrow schemas (`src/core/schema.ts`); none is written here.
 * Beside them, the Iceberg tables (`rentals_iceberg`, ...: `table_type=ICEBERG`), which the
 * functions move to each new metadata file after their commits (`GlueCatalogFollower`): until the
 * first commit of a table they name none, and a deploy that changes one is caught up by the next commit.
 */
import { Stack } from 'aws-cdk-lib';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { DataType, type Field, type Schema } from 'apache-arrow';
import { Construct } from 'constructs';
import { describeColumn, lakeSchema, RENTALS, stagingSchema, type SourceTable } from '../../src/core/schema.js';
import { glueIcebergTableName } from '../../src/lake/iceberg/glue-catalog.js';
import { ICEBERG_ROOT } from '../../src/lake/iceberg/metadata-layout.js';
import { ICEBERG_TABLES } from '../../src/lake/iceberg/table-model.js';
import { snapshotKey } from '../../src/lake/layout.js';

/** Years the `year` partition column is projected over; a query should filter on it. */
export const PROJECTED_YEARS = { from: 2000, to: 2099 } as const;

/** Parquet in Hive's (and Athena's) terms. */
const PARQUET = {
  inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe', parameters: { 'serialization.format': '1' } },
} as const;

/** The Glue (Hive) type of a lake column's Arrow type. */
export function glueTypeOf(type: DataType): string {
  if (DataType.isInt(type)) return type.bitWidth === 64 ? 'bigint' : 'int';
  if (DataType.isBool(type)) return 'boolean';
  if (DataType.isDate(type)) return 'date';
  if (DataType.isTimestamp(type)) return 'timestamp';
  if (DataType.isDecimal(type)) return `decimal(${type.precision},${type.scale})`;
  if (DataType.isUtf8(type)) return 'string';
  throw new Error(`no Glue type for the Arrow type ${String(type)}`);
}

/** The Glue (Hive) type of an Iceberg column type (`long`, `decimal(12, 2)`, `timestamptz`). */
export function glueTypeOfIceberg(type: string): string {
  const simple: Record<string, string> = {
    long: 'bigint',
    int: 'int',
    boolean: 'boolean',
    date: 'date',
    string: 'string',
    timestamp: 'timestamp',
    timestamptz: 'timestamp',
  };
  const decimal = /^decimal\((\d+),\s*(\d+)\)$/.exec(type);
  if (decimal) return `decimal(${decimal[1]},${decimal[2]})`;
  if (!(type in simple)) throw new Error(`no Glue type for the Iceberg type ${type}`);
  return simple[type];
}

function columnsOf(schema: Schema, describe: (field: Field) => string): CfnTable.ColumnProperty[] {
  return schema.fields.map((field) => ({ name: field.name, type: glueTypeOf(field.type), comment: describe(field) || undefined }));
}

/** Refuses a Glue database name Athena would not take as it is (the prop's name in the error). */
export function checkGlueDatabaseName(name: string): string {
  if (!/^[a-z0-9_]{1,255}$/.test(name)) throw new Error(`glueDatabaseName: expected lowercase letters, digits and underscores, got ${JSON.stringify(name)}`);
  return name;
}

export interface LakeTablesProps {
  readonly bucket: IBucket;
  /** Key prefix of the lake, '' for the bucket root, else ending in `/`. */
  readonly root: string;
  /** Name of the Glue database (lowercase letters, digits and underscores). */
  readonly databaseName: string;
}

export class LakeTables extends Construct {
  readonly database: CfnDatabase;
  /** The Glue tables by name: `rentals`, then the snapshot tables. */
  readonly tables: Readonly<Record<string, CfnTable>>;
  /** The Glue tables that follow the Iceberg tables, by the lake table's name. */
  readonly icebergTables: Readonly<Record<string, CfnTable>>;

  constructor(scope: Construct, id: string, props: LakeTablesProps) {
    super(scope, id);
    checkGlueDatabaseName(props.databaseName);
    const catalogId = Stack.of(this).account;
    const folder = (table: string) => `s3://${props.bucket.bucketName}/${props.root}${table}/`;
    this.database = new CfnDatabase(this, 'Database', {
      catalogId,
      databaseInput: { name: props.databaseName, description: 'pg-lake-etl: the published lake (rentals by day, users and bikes snapshots)' },
    });
    const table = (tableId: string, input: CfnTable.TableInputProperty) => {
      const created = new CfnTable(this, tableId, { catalogId, databaseName: props.databaseName, tableInput: input });
      created.addResourceDependency(this.database);
      return created;
    };

    const tables: Record<string, CfnTable> = {};
    const rentals = RENTALS.name;
    const years = `${PROJECTED_YEARS.from},${PROJECTED_YEARS.to}`;
    tables[rentals] = table('RentalsTable', {
      name: rentals,
      description: 'Rentals by the day of rent_start in PARTITION_TIMEZONE; only published days have files',
      tableType: 'EXTERNAL_TABLE',
      partitionKeys: [
        { name: 'year', type: 'int' },
        { name: 'month', type: 'int' },
        { name: 'day', type: 'int' },
      ],
      parameters: {
        classification: 'parquet',
        EXTERNAL: 'TRUE',
        'projection.enabled': 'true',
        'projection.year.type': 'integer',
        'projection.year.range': years,
        'projection.month.type': 'integer',
        'projection.month.range': '1,12',
        'projection.month.digits': '2',
        'projection.day.type': 'integer',
        'projection.day.range': '1,31',
        'projection.day.digits': '2',
        // Athena fills in the projected values; `${...}` is its syntax, not a template literal.
        'storage.location.template': `${folder(rentals)}year=\${year}/month=\${month}/day=\${day}/`,
      },
      storageDescriptor: {
        ...PARQUET,
        location: folder(rentals),
        columns: columnsOf(lakeSchema(RENTALS), (field) => describeColumn(RENTALS, field.name)),
      },
    });
    for (const snapshot of RENTALS.snapshots) {
      const described = snapshot as SourceTable;
      tables[snapshot.name] = table(`${snapshot.name.charAt(0).toUpperCase()}${snapshot.name.slice(1)}Table`, {
        name: snapshot.name,
        description: `Latest full copy of the source table ${snapshot.name}`,
        tableType: 'EXTERNAL_TABLE',
        parameters: { classification: 'parquet', EXTERNAL: 'TRUE' },
        storageDescriptor: {
          ...PARQUET,
          // The folder of the snapshot's one file (`users/data.parquet`).
          location: `s3://${props.bucket.bucketName}/${props.root}${snapshotKey(snapshot.name).replace(/[^/]*$/, '')}`,
          columns: columnsOf(stagingSchema(described), (field) => described.columns.find((c) => c.name === field.name)?.description ?? ''),
        },
      });
    }
    this.tables = tables;

    const icebergTables: Record<string, CfnTable> = {};
    for (const iceberg of Object.values(ICEBERG_TABLES)) {
      const name = glueIcebergTableName(iceberg.name);
      icebergTables[iceberg.name] = table(`${iceberg.name.charAt(0).toUpperCase()}${iceberg.name.slice(1)}IcebergTable`, {
        name,
        description: `The Iceberg table ${iceberg.name} over the lake's files; every commit moves metadata_location`,
        tableType: 'EXTERNAL_TABLE',
        parameters: { table_type: 'ICEBERG' },
        storageDescriptor: {
          location: `s3://${props.bucket.bucketName}/${props.root}${ICEBERG_ROOT}${iceberg.name}`,
          columns: iceberg.schema.fields.map((f) => ({ name: f.name, type: glueTypeOfIceberg(f.type) })),
        },
      });
    }
    this.icebergTables = icebergTables;
  }
}
