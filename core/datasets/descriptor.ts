// A dataset as the stages see it: its classes, its geometry and where each split's images are.
// Every dataset a sweep uses (its own, and each eval set's) has a descriptor in the store at
// `datasets/<fingerprint>/dataset.json`, written by the plan (built-in datasets) or by the import
// activity (image folders and labelled shards, activities/datasets). Activities receive only the
// fingerprint and load splits through it (core/activity-deps.ts loadDatasetSplit), so a changed
// file, class list or geometry is a new fingerprint and changes every key that depends on it.
import { checkGeometry, type ImageGeometry } from '../image/geometry.js';
import type { ShardRecord } from '../shards/manifest.js';
import { getJson, NotFoundError, putJson, type BlobStore } from '../storage.js';
import { MAX_CLASSES } from './image-set.js';

export const DATASET_DESCRIPTOR_FORMAT = 'synthscale-dataset-1';

export interface DescribedSplit {
  count: number;
  /** Images per class, in class order. */
  classCounts: number[];
  /** Imported datasets: the split's shards (`{key}.png` at the geometry + `{key}.json` with label and index), in order. */
  shards?: ShardRecord[];
}

/** What an import skipped, by reason, with a few examples (bounded). */
export interface ImportSkips {
  count: number;
  byReason: Record<string, number>;
  examples: { item: string; reason: string }[];
}

export interface DatasetDescriptor {
  format: typeof DATASET_DESCRIPTOR_FORMAT;
  fingerprint: string;
  /** Name in reports. */
  title: string;
  classes: string[];
  /** WordNet ids per class (e.g. "n01440764"), when the dataset gives them. */
  wnids?: (string | null)[];
  geometry: ImageGeometry;
  origin:
    | { kind: 'builtin'; dataset: string; nativeFingerprint: string; nativeGeometry: ImageGeometry }
    | { kind: 'imagefolder' | 'webdataset'; uri: string };
  splits: Record<string, DescribedSplit>;
  /** Imported datasets: inputs read, skipped (with reasons), seconds. */
  import?: { inputs: number; skipped: ImportSkips; seconds: number; codeVersion: string };
}

export function descriptorKey(fingerprint: string): string {
  if (!/^[0-9a-z-]{8,80}$/.test(fingerprint)) throw new Error(`malformed dataset fingerprint '${fingerprint}'`);
  return `datasets/${fingerprint}/dataset.json`;
}

export function validateDescriptor(value: unknown, where: string): DatasetDescriptor {
  const d = value as Partial<DatasetDescriptor> | null;
  if (!d || d.format !== DATASET_DESCRIPTOR_FORMAT || typeof d.fingerprint !== 'string' || !Array.isArray(d.classes) || !d.geometry || !d.splits) {
    throw new Error(`${where}: not a ${DATASET_DESCRIPTOR_FORMAT} descriptor`);
  }
  if (d.classes.length < 2 || d.classes.length > MAX_CLASSES - 1) throw new Error(`${where}: ${d.classes.length} classes (2 to ${MAX_CLASSES - 1} supported)`);
  checkGeometry(d.geometry, `${where} geometry`);
  for (const [name, split] of Object.entries(d.splits)) {
    if (!Number.isInteger(split.count) || split.count < 0) throw new Error(`${where}: split '${name}' has no valid count`);
    if (split.shards && split.shards.reduce((n, s) => n + s.samples, 0) !== split.count) throw new Error(`${where}: split '${name}' shards do not sum to its count`);
  }
  return d as DatasetDescriptor;
}

export async function writeDescriptor(store: BlobStore, descriptor: DatasetDescriptor): Promise<string> {
  return (await putJson(store, descriptorKey(descriptor.fingerprint), descriptor)).uri;
}

/** The descriptor of `fingerprint`, or null when the store has none (stores from before descriptors: Fashion-MNIST). */
export async function readDescriptor(store: BlobStore, fingerprint: string): Promise<DatasetDescriptor | null> {
  try {
    return validateDescriptor(await getJson(store, descriptorKey(fingerprint)), descriptorKey(fingerprint));
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
}
