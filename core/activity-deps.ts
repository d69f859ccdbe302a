// What every activity needs from its worker: the store and where the dataset lives.
import { join, resolve } from 'node:path';
import { openStore, type BlobStore } from './storage.js';
import type { ImageSet } from './datasets/image-set.js';
import { datasetProvider, type DatasetName } from './datasets/registry.js';
import { readDescriptor, type DatasetDescriptor } from './datasets/descriptor.js';
import { loadStoredSplit, UnknownSplitError } from './datasets/stored-split.js';
import { sameGeometry } from './image/geometry.js';
import { resampleImages } from './image/resample.js';
import { sha256Hex } from './hash.js';
import { memoizePromise } from './memo.js';

export interface ActivityDeps {
  store: BlobStore;
  /** Project data dir (downloads, server DB). */
  dataDir: string;
}

export function projectDataDir(): string {
  return resolve(process.env.SYNTHSCALE_DATA ?? join(process.cwd(), '.synthscale', 'data'));
}

export function depsFromEnv(): ActivityDeps {
  const dataDir = projectDataDir();
  return { store: openStore(process.env.SYNTHSCALE_STORE ?? join(dataDir, '..', 'store')), dataDir };
}

/** One split of a built-in dataset of the registry (core/datasets/registry.ts) at its own geometry. */
export async function loadBuiltinSplit(deps: ActivityDeps, split: string, dataset: DatasetName = 'fashion-mnist'): Promise<ImageSet> {
  if (split !== 'train' && split !== 'test') throw new UnknownSplitError(`dataset '${dataset}' has the splits train and test, not '${split}'`);
  return datasetProvider(dataset).loadSplit(deps.dataDir, split);
}

const descriptors = new Map<string, Promise<DatasetDescriptor | null>>();

/** The descriptor of a dataset fingerprint (memoized; null: a store from before descriptors, Fashion-MNIST). */
export async function datasetDescriptor(deps: ActivityDeps, fingerprint: string): Promise<DatasetDescriptor | null> {
  const key = `${deps.store.root}|${fingerprint}`;
  const found = await memoizePromise(descriptors, key, () => readDescriptor(deps.store, fingerprint));
  // Absent now may be written later (the plan writes it, an import finishes): ask again next time.
  if (!found) descriptors.delete(key);
  return found;
}

const splits = new Map<string, Promise<ImageSet>>();

/**
 * One split of the dataset with this fingerprint, at the dataset's geometry (memoized per
 * process, a few at a time: workers reuse them across activities). No fingerprint, or one the
 * store has no descriptor for: Fashion-MNIST at 28x28 grey (the only dataset before descriptors).
 */
export async function loadDatasetSplit(deps: ActivityDeps, fingerprint: string | undefined, split: string): Promise<ImageSet> {
  const descriptor = fingerprint === undefined ? null : await datasetDescriptor(deps, fingerprint);
  if (!descriptor) return loadBuiltinSplit(deps, split);
  return memoizePromise(
    splits,
    `${deps.store.root}|${descriptor.fingerprint}|${split}`,
    async () => {
      const { origin } = descriptor;
      if (origin.kind !== 'builtin') return loadStoredSplit(deps.store, descriptor, split);
      const native = await loadBuiltinSplit(deps, split, origin.dataset as DatasetName);
      if (sameGeometry(native.geometry, descriptor.geometry)) return native;
      return { ...native, images: resampleImages(native.images, native.count, native.geometry, descriptor.geometry), geometry: descriptor.geometry };
    },
    6,
  );
}

const fingerprints = new Map<string, Promise<string>>();

/** Hash of a built-in dataset's decoded training and test content (the Debian .gz files are recompressed, so not the .gz bytes). */
export function datasetFingerprint(deps: ActivityDeps, dataset: DatasetName = 'fashion-mnist'): Promise<string> {
  return memoizePromise(fingerprints, `${dataset}|${deps.dataDir}`, async () => {
      const train = await loadBuiltinSplit(deps, 'train', dataset);
      const test = await loadBuiltinSplit(deps, 'test', dataset);
      return sha256Hex(
        [train.images, train.labels, test.images, test.labels].map((part) => sha256Hex(part)).join('|'),
      ).slice(0, 20);
  });
}
