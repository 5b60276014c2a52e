/** Opens the object store that `LAKE_URI` names: S3 (loaded only then) or a local directory. */
import type { LakeSettings } from '../core/config.js';
import type { ObjectStore } from './store.js';

export async function openStore(settings: Pick<LakeSettings, 'lake' | 'region' | 'endpoint'>): Promise<ObjectStore> {
  if (settings.lake.kind === 's3') {
    const { S3Store } = await import('./s3-store.js');
    return new S3Store(settings.lake, { region: settings.region, endpoint: settings.endpoint });
  }
  const { FsStore } = await import('./fs-store.js');
  return new FsStore(settings.lake);
}
