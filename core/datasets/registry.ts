// Datasets a sweep can study (`dataset:` in the spec): the one place to add one. Each entry says
// what its images are and how a worker finds and decodes a split; stages reach it through
// core/activity-deps.ts (loadDatasetSplit, datasetFingerprint).
import { FASHION_MNIST_CLASSES, IMAGE_SIDE, loadSplit, locateFashionMnist, type ImageSet, type Split } from './fashion-mnist.js';

export interface DatasetProvider {
  /** Name in reports, e.g. "Fashion-MNIST". */
  title: string;
  /** Class names in label order. */
  classes: readonly string[];
  /** Images are side x side, `channels` bytes per pixel. */
  imageSide: number;
  channels: number;
  /** Decodes one split (memoized per process by the provider). */
  loadSplit(dataDir: string, split: Split): Promise<ImageSet>;
}

export const DATASETS = {
  'fashion-mnist': {
    title: 'Fashion-MNIST',
    classes: FASHION_MNIST_CLASSES,
    imageSide: IMAGE_SIDE,
    channels: 1,
    loadSplit: async (dataDir, split) => loadSplit(await locateFashionMnist(dataDir), split),
  },
} as const satisfies Record<string, DatasetProvider>;

export type DatasetName = keyof typeof DATASETS;

/** The names, for the spec's enum (non-empty). */
export const DATASET_NAMES = Object.keys(DATASETS) as [DatasetName, ...DatasetName[]];

export function datasetProvider(name: DatasetName): DatasetProvider {
  return DATASETS[name];
}
