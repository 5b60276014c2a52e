/**
 * Glue follows the file catalog, committing as pyiceberg's Glue catalog does (GetTable, then
 * UpdateTable with the VersionId read and SkipArchive), against a fake Glue with real VersionId
 * semantics (`FakeGlue`: moto's Glue accepts an UpdateTable with a stale VersionId). A follower
 * that loses the race reads again and retries; one that finds Glue already at a later version of
 * the table leaves it; a follow that failed is caught up by the next sync of the table.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InternalServiceException } from '@aws-sdk/client-glue';
import { parseLakeUri } from '../../src/core/config.js';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { commitIcebergChange, commitPlanned } from '../../src/lake/iceberg/commit.js';
import { versionKey } from '../../src/lake/iceberg/file-catalog.js';
import { GlueCatalogFollower, glueIcebergTableName } from '../../src/lake/iceberg/glue-catalog.js';
import { absoluteLocation } from '../../src/lake/iceberg/table-model.js';
import { FakeGlue } from '../support/fake-glue.js';

const DATABASE = 'lake_db';
const TABLE = glueIcebergTableName('rentals');
const file = (day: number, run = '20250401T000000000Z-0a1b2c3d') => ({
  key: `rentals/year=2025/month=03/day=${String(day).padStart(2, '0')}/part-${run}-00000.parquet`,
  rows: 10,
  bytes: 1_000,
});

describe('Glue follows the Iceberg file catalog', () => {
  let root: string;
  let store: FsStore;
  let glue: FakeGlue;
  const location = (version: number) => absoluteLocation(store.location, versionKey('rentals', version));
  const parameters = () => glue.table(DATABASE, TABLE)?.Parameters ?? {};

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'iceberg-glue-'));
    store = new FsStore(parseLakeUri(root));
    glue = new FakeGlue();
    // As the stack creates it: no metadata_location until the first commit.
    glue.createTable(DATABASE, {
      Name: TABLE,
      TableType: 'EXTERNAL_TABLE',
      Parameters: { table_type: 'ICEBERG' },
      StorageDescriptor: { Location: 's3://b/_iceberg/rentals' },
    });
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('every commit moves metadata_location with the VersionId it read and SkipArchive, keeping the rest of the table', async () => {
    // Prepare
    const follower = new GlueCatalogFollower(glue, DATABASE);

    // Act
    const first = await commitIcebergChange(store, 'rentals', { added: [file(1)], removed: [] }, { follower });
    const second = await commitIcebergChange(store, 'rentals', { added: [file(2)], removed: [] }, { follower });

    // Assess
    expect(first?.metadataLocation).toBe(location(1));
    expect(parameters()).toEqual({ table_type: 'ICEBERG', metadata_location: location(2), previous_metadata_location: location(1) });
    expect(second?.metadataLocation).toBe(location(2));
    expect(glue.updates.map((u) => [u.VersionId, u.SkipArchive, u.TableInput?.Parameters?.metadata_location])).toEqual([
      ['1', true, location(1)],
      ['2', true, location(2)],
    ]);
    expect(glue.updates[0].TableInput?.Parameters).not.toHaveProperty('previous_metadata_location');
    expect(glue.table(DATABASE, TABLE)).toMatchObject({
      TableType: 'EXTERNAL_TABLE',
      StorageDescriptor: { Location: 's3://b/_iceberg/rentals' },
      VersionId: '3',
    });
  });

  it('a follower that loses the race to a concurrent commit reads Glue again and retries', async () => {
    // Prepare: version 2 is committed; its follower reads Glue, then the follower of version 1 moves it first.
    await commitIcebergChange(store, 'rentals', { added: [file(1)], removed: [] });
    await commitIcebergChange(store, 'rentals', { added: [file(2)], removed: [] });
    const later = new GlueCatalogFollower(glue, DATABASE);
    const earlier = new GlueCatalogFollower(glue, DATABASE);
    glue.beforeUpdate = async (n) => {
      if (n === 1) await earlier.follow('rentals', location(1), 1);
    };

    // Act
    await later.follow('rentals', location(2), 2);

    // Assess: the later follower's first UpdateTable carried a stale VersionId and lost; it read again and moved Glue on.
    expect(glue.updates.map((u) => [u.VersionId, u.TableInput?.Parameters?.metadata_location])).toEqual([
      ['1', location(2)],
      ['1', location(1)],
      ['2', location(2)],
    ]);
    expect(parameters()).toMatchObject({ metadata_location: location(2), previous_metadata_location: location(1) });
  });

  it('a follower that finds Glue at a later version of the table leaves it: the file catalog is the record', async () => {
    // Prepare: the follower of version 1 reads Glue, then version 2's moves it first.
    const earlier = new GlueCatalogFollower(glue, DATABASE);
    const later = new GlueCatalogFollower(glue, DATABASE);
    glue.beforeUpdate = async (n) => {
      if (n === 1) await later.follow('rentals', location(2), 2);
    };

    // Act
    await earlier.follow('rentals', location(1), 1);

    // Assess: the earlier follower lost, read version 2 and sent nothing more.
    expect(glue.updates.map((u) => u.TableInput?.Parameters?.metadata_location)).toEqual([location(1), location(2)]);
    expect(parameters().metadata_location).toBe(location(2));
  });

  it('concurrent commits of different days: Glue ends at the latest version', async () => {
    // Prepare: each publisher has its own follower, as each Lambda has.
    const days = [1, 2, 3, 4, 5, 6, 7, 8];

    // Act
    await Promise.all(
      days.map((day) => commitIcebergChange(store, 'rentals', { added: [file(day)], removed: [] }, { follower: new GlueCatalogFollower(glue, DATABASE) })),
    );

    // Assess
    expect(parameters().metadata_location).toBe(location(days.length));
    expect(glue.updates.length).toBeGreaterThanOrEqual(1);
  });

  it('a follow that failed is caught up by the next sync of the table, even one that commits nothing', async () => {
    // Prepare: Glue fails the update of the first commit (a server fault, transient).
    glue.failUpdate = { n: 1, error: new InternalServiceException({ message: 'injected', $metadata: {} }) };
    const follower = new GlueCatalogFollower(glue, DATABASE);
    const failed = await commitIcebergChange(store, 'rentals', { added: [file(1)], removed: [] }, { follower }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(StoreUnavailableError);
    expect(await store.head(versionKey('rentals', 1))).toBeDefined();
    expect(parameters().metadata_location).toBeUndefined();

    // Act: a sync with nothing to change (the publish's retry, the next sweep of the day)
    const nothing = await commitPlanned(store, 'rentals', async () => undefined, { follower });

    // Assess
    expect(nothing).toBeUndefined();
    expect(parameters().metadata_location).toBe(location(1));
  });
});
