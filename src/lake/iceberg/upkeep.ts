/**
 * The Iceberg upkeep of a deployment, from its configuration: the Glue follower when
 * `GLUE_DATABASE` is set (the Glue client loaded at its first commit, so that a function that
 * never commits does not load it), and how long superseded files stay.
 */
import type { Config } from '../../core/config.js';
import type { CatalogFollower, IcebergUpkeep } from './commit.js';

/** What the configuration says of the Iceberg tables' upkeep; keys a function's slice lacks count as unset. */
export function icebergUpkeepOf(config: Partial<Pick<Config, 'glueDatabase' | 'keepSupersededMs' | 'region'>>): IcebergUpkeep {
  const keepSupersededMs = config.keepSupersededMs ?? 0;
  const database = config.glueDatabase;
  if (database === undefined) return { keepSupersededMs };
  let glue: Promise<CatalogFollower> | undefined;
  const follower: CatalogFollower = {
    async follow(table, metadataLocation, version) {
      glue ??= Promise.all([import('@aws-sdk/client-glue'), import('./glue-catalog.js')]).then(
        ([{ GlueClient }, { GlueCatalogFollower }]) => new GlueCatalogFollower(new GlueClient({ region: config.region }), database),
      );
      return (await glue).follow(table, metadataLocation, version);
    },
  };
  return { keepSupersededMs, follower };
}
