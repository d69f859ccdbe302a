// What every activity needs from its worker: the store and where the dataset lives.
import { join, resolve } from 'node:path';
import { openStore, type BlobStore } from './storage.js';
import type { ImageSet, Split } from './datasets/fashion-mnist.js';
import { datasetProvider, type DatasetName } from './datasets/registry.js';
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

/** One split of a dataset of the registry (core/datasets/registry.ts); Fashion-MNIST by default. */
export async function loadDatasetSplit(deps: ActivityDeps, split: Split, dataset: DatasetName = 'fashion-mnist'): Promise<ImageSet> {
  return datasetProvider(dataset).loadSplit(deps.dataDir, split);
}

const fingerprints = new Map<string, Promise<string>>();

/** Hash of the decoded training and test content (the Debian .gz files are recompressed, so not the .gz bytes). */
export function datasetFingerprint(deps: ActivityDeps, dataset: DatasetName = 'fashion-mnist'): Promise<string> {
  return memoizePromise(fingerprints, `${dataset}|${deps.dataDir}`, async () => {
      const train = await loadDatasetSplit(deps, 'train', dataset);
      const test = await loadDatasetSplit(deps, 'test', dataset);
      return sha256Hex(
        [train.images, train.labels, test.images, test.labels].map((part) => sha256Hex(part)).join('|'),
      ).slice(0, 20);
  });
}
