// The end of an import: the descriptor (datasets/<fingerprint>/dataset.json) and the result beside
// the import's shards (datasets/imports/<listingKey>/result.json), which an unchanged rerun returns
// at once (cached) when the descriptor it names is still valid and its shards are still stored.
import { DATASET_IMPORT_CODE_VERSION, type DatasetImportOutput } from '../../contracts/datasets.js';
import { DATASET_DESCRIPTOR_FORMAT, readDescriptor, writeDescriptor, type DatasetDescriptor } from '../../core/datasets/descriptor.js';
import type { ImageGeometry } from '../../core/image/geometry.js';
import { getJson, putJson, type BlobStore } from '../../core/storage.js';
import { mergeTallies, type SplitProgress } from './cursor.js';
import { datasetFingerprint } from './fingerprint.js';

export const RESULT_FORMAT = 'dataset-import-result-1';

export function resultKey(listingKey: string): string {
  return `datasets/imports/${listingKey}/result.json`;
}

/** The stored result of this listing, when it and everything it names are still there; else null. */
export async function cachedResult(store: BlobStore, listingKey: string, splits: readonly string[], started: number): Promise<DatasetImportOutput | null> {
  if (!(await store.head(resultKey(listingKey)))) return null;
  try {
    const stored = await getJson<{ format?: string; output?: DatasetImportOutput }>(store, resultKey(listingKey));
    const output = stored.output;
    if (stored.format !== RESULT_FORMAT || !output || typeof output.fingerprint !== 'string') return null;
    const descriptor = await readDescriptor(store, output.fingerprint);
    if (!descriptor || !splits.every((s) => descriptor.splits[s]?.shards)) return null;
    for (const split of splits) {
      for (const shard of descriptor.splits[split]!.shards!) {
        if ((await store.head(store.keyOf(shard.uri)))?.sha256 !== shard.sha256) return null;
      }
    }
    return { ...output, cached: true, seconds: (Date.now() - started) / 1000 };
  } catch {
    return null; // unreadable or corrupt: import again, which rewrites it
  }
}

export interface FinishInputs {
  store: BlobStore;
  listingKey: string;
  title: string;
  classes: string[];
  wnids?: (string | null)[];
  geometry: ImageGeometry;
  origin: { kind: 'imagefolder' | 'webdataset'; uri: string };
  done: SplitProgress[];
  started: number;
}

/** Fingerprint, descriptor and result of a finished import. */
export async function finishImport(f: FinishInputs): Promise<DatasetImportOutput> {
  const { done, classes, geometry } = f;
  const fingerprint = datasetFingerprint({
    codeVersion: DATASET_IMPORT_CODE_VERSION,
    geometry,
    classes,
    wnids: f.wnids,
    chains: Object.fromEntries(done.map((s) => [s.split, s.chain])),
  });
  const skipped = mergeTallies(done.map((s) => s.skipped));
  const inputs = done.reduce((n, s) => n + s.inputs, 0);
  const seconds = (Date.now() - f.started) / 1000;
  const descriptor: DatasetDescriptor = {
    format: DATASET_DESCRIPTOR_FORMAT,
    fingerprint,
    title: f.title,
    classes,
    ...(f.wnids ? { wnids: f.wnids } : {}),
    geometry,
    origin: f.origin,
    splits: Object.fromEntries(done.map((s) => [s.split, { count: s.count, classCounts: s.classCounts, shards: s.shards }])),
    import: { inputs, skipped, seconds, codeVersion: DATASET_IMPORT_CODE_VERSION },
  };
  const descriptorUri = await writeDescriptor(f.store, descriptor);
  const output: DatasetImportOutput = {
    fingerprint,
    descriptorUri,
    title: f.title,
    classes,
    geometry,
    splits: Object.fromEntries(done.map((s) => [s.split, { count: s.count, classCounts: s.classCounts }])),
    skipped,
    inputs,
    seconds,
    cached: false,
  };
  await putJson(f.store, resultKey(f.listingKey), { format: RESULT_FORMAT, output });
  return output;
}
