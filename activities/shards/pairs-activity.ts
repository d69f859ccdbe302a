// The real-pairs source's activities (cpu queue): build the embedded Fashion-MNIST pairs as
// img2dataset-layout shards, and import any such shards (file:// or gs://) into the sweep's own
// shard format with a manifest. Both are idempotent: outputs are content-addressed and a rerun
// finds them; the import heartbeats the input shards it has read.
import { FAILURE_TYPES } from '../../contracts/failures.js';
import { ApplicationFailure, heartbeat, log } from '@temporalio/activity';
import { ExternalUriError, expandBraces, readExternalObject } from '../../core/external-object.js';
import { inputHash } from '../../core/hash.js';
import { pixelsPerImage, type ImageGeometry } from '../../core/image/geometry.js';
import { MalformedImageError } from '../../core/png.js';
import { hasValidObject, NotFoundError, ObjectTooLargeError } from '../../core/storage.js';
import { prepareCaptioner } from '../../core/text/captioner.js';
import { IMAGE_ATTRIBUTE_PROVENANCE } from '../../core/text/image-attributes.js';
import { loadDatasetSplit, type ActivityDeps } from '../../core/activity-deps.js';
import type { ManifestOutput } from './activity.js';
import { realOrder } from '../../core/datasets/real-draws.js';
import { importPairs, type PairImportResult } from './import-pairs.js';
import { geometryField, MANIFEST_FORMAT, writeManifest, type SourceManifest } from '../../core/shards/manifest.js';
import { sourceDataset } from '../../core/shards/source-dataset.js';
import { captionedPairShard, pairShardCount } from '../../core/shards/captioned-pairs.js';
import { packShard, ShardFormatError } from '../../core/shards/webdataset.js';

export const PAIRS_CODE_VERSION = 'pairs-import-1';
/** 2: captions' attribute words come from each image's measured brightness, size and texture. */
/** 3: drawn from the real pool only (disjoint from the generators' split). */
export const EMBEDDED_PAIRS_CODE_VERSION = 'fashion-mnist-pairs-3';
/** How the embedded pairs are captioned, one line for the report. */
export const EMBEDDED_PAIRS_CAPTIONS = `seeded captions (core/text/captioner.ts) of real Fashion-MNIST images; ${IMAGE_ATTRIBUTE_PROVENANCE}`;

export interface EmbeddedPairsInput {
  count: number;
  shardSize: number;
  /** Order of the real images (as the real source's) and seed of their captions. */
  seed: number;
  datasetFingerprint: string;
}

export interface ImportPairShardsInput {
  /** The source's name (sample metadata and errors). */
  source: string;
  /** Where the field came from in the spec, for errors, e.g. "sources.2.shards". */
  field: string;
  /** Shard URIs or brace patterns, read in order. */
  shards: string[];
  count: number;
  shardSize: number;
  maxShardBytes: number;
  classes: string[];
  description: string;
  /** The sweep's dataset: pairs are brought to its geometry (shorter side, centre crop); absent: 28x28 grey. */
  datasetFingerprint?: string;
}

export interface ImportPairShardsOutput extends ManifestOutput {
  inputShards: number;
  labels: { metadata: number; caption: number; unlabeled: number };
}

export interface EmbeddedPairsOutput {
  shardUris: string[];
  /** Where the captions come from (EMBEDDED_PAIRS_CAPTIONS). */
  captions: string;
}

/**
 * The embedded real-pairs data: the real source's images (same class-balanced order) with a
 * seeded caption each whose attribute words describe that image (captionForImage, against class
 * statistics over every image the order holds, so a shard's captions do not depend on the count),
 * as img2dataset writes shards: {00000..}.tar of {key}.png/.txt/.json.
 */
async function writeFashionMnistPairs(deps: ActivityDeps, input: EmbeddedPairsInput): Promise<EmbeddedPairsOutput> {
  const prefix = `pairs/fashion-mnist-${inputHash('fashion-mnist-pairs', EMBEDDED_PAIRS_CODE_VERSION, {
    dataset: input.datasetFingerprint,
    seed: input.seed,
    shardSize: input.shardSize,
  })}`;
  const dataset = await sourceDataset(deps, input.datasetFingerprint);
  const { classes } = dataset;
  const train = await loadDatasetSplit(deps, input.datasetFingerprint, 'train');
  // Real pairs are real data: only the real pool, never the generators' split.
  const all = realOrder(train, input.datasetFingerprint, classes.length, input.seed);
  if (input.count > all.length) throw ApplicationFailure.nonRetryable(`the embedded real-pairs source has ${all.length} images (the real pool); ${input.count} requested`, FAILURE_TYPES.invalidInput);
  const shards = pairShardCount(input.count, input.shardSize);
  const keyOf = (s: number) => `${prefix}/${String(s).padStart(5, '0')}.tar`;
  const missing: number[] = [];
  for (let s = 0; s < shards; s++) if (!(await hasValidObject(deps.store, keyOf(s)))) missing.push(s);
  if (missing.length > 0) {
    // Shards hold a full shardSize even past `count`, so a later sweep with larger N reuses them.
    const total = Math.min(all.length, shards * input.shardSize);
    const order = all.slice(0, total);
    const { geometry } = train;
    const per = pixelsPerImage(geometry);
    const images = new Uint8Array(total * per);
    const labels = new Uint8Array(total);
    order.forEach((row, i) => {
      images.set(train.images.subarray(row * per, (row + 1) * per), i * per);
      labels[i] = train.labels[row]!;
    });
    // The captions' attribute words are measured on grey images (luma of a colour one).
    const grey = lumaImages(train.images, train.count, geometry);
    const greyPer = geometry.size * geometry.size;
    const captioner = await prepareCaptioner(classes, {
      seed: input.seed,
      images: { pixels: grey, labels: train.labels, pixelsPerImage: greyPer, rows: all },
    });
    const captions = (index: number, label: number) => {
      const row = order[index]!;
      return captioner.captionForImage(label, index, grey.subarray(row * greyPer, (row + 1) * greyPer));
    };
    const source = dataset.legacy ? 'fashion-mnist-train' : `dataset-${input.datasetFingerprint}-train`;
    const data = { images, geometry, labels, classes, source, captions };
    for (const s of missing) {
      await deps.store.put(keyOf(s), (await captionedPairShard(data, s, input.shardSize)).bytes);
      heartbeat({ pairShardsWritten: s + 1, of: shards });
    }
  }
  return { shardUris: Array.from({ length: shards }, (_, s) => deps.store.uri(keyOf(s))), captions: EMBEDDED_PAIRS_CAPTIONS };
}

/** The BT.601 luma of `count` images of `geometry` (the images themselves when grey). */
function lumaImages(images: Uint8Array, count: number, geometry: ImageGeometry): Uint8Array {
  if (geometry.channels === 1) return images;
  const pixels = count * geometry.size * geometry.size;
  const out = new Uint8Array(pixels);
  for (let p = 0; p < pixels; p++) out[p] = Math.round(0.299 * images[3 * p]! + 0.587 * images[3 * p + 1]! + 0.114 * images[3 * p + 2]!);
  return out;
}

/** Import img2dataset-layout shards in order until `count` pairs, at the dataset's geometry; see import-pairs.ts. */
async function importPairShards(deps: ActivityDeps, input: ImportPairShardsInput): Promise<ImportPairShardsOutput> {
  const bad = (message: string) => ApplicationFailure.nonRetryable(`${input.field}: ${message}`, FAILURE_TYPES.invalidInput);
  let uris: string[];
  try {
    uris = input.shards.flatMap((p) => expandBraces(p));
  } catch (err) {
    throw bad((err as Error).message);
  }
  const { geometry, legacy } = await sourceDataset(deps, input.datasetFingerprint);
  // 28x28 grey keeps the key it had before geometries; any other geometry is other shards.
  const prefix = `sources/pairs-${inputHash('pairs-source', PAIRS_CODE_VERSION, { uris, shardSize: input.shardSize, classes: input.classes, ...(legacy ? {} : geometryField(geometry)) })}`;
  let inputsRead = 0;
  const read = async (uri: string) => {
    try {
      return await readExternalObject(uri, { maxBytes: input.maxShardBytes });
    } catch (err) {
      if (err instanceof NotFoundError || err instanceof ExternalUriError) throw bad(`${(err as Error).message} (check the shard list of source '${input.source}')`);
      if (err instanceof ObjectTooLargeError) throw bad(`${(err as Error).message}; raise maxShardBytes of source '${input.source}' if the shard is genuine`);
      throw err;
    }
  };
  const result = await importPairs({
    uris,
    count: input.count,
    shardSize: input.shardSize,
    classes: input.classes,
    geometry,
    source: input.source,
    read,
    exists: (name) => hasValidObject(deps.store, `${prefix}/${name}`),
    write: async (shard) => {
      if (shard.samples) await deps.store.put(`${prefix}/${shard.name}`, await packShard(shard.samples));
      heartbeat({ inputShardsRead: inputsRead, shardsImported: shard.index + 1, pairs: shard.firstIndex + shard.count });
    },
    onInput: () => void inputsRead++,
  }).catch((err: unknown) => {
    if (err instanceof ShardFormatError || err instanceof MalformedImageError) throw ApplicationFailure.nonRetryable(`source '${input.source}': ${(err as Error).message}`, FAILURE_TYPES.malformedImage);
    throw err;
  });
  if (result.exhausted) {
    throw bad(
      `source '${input.source}' has ${result.totalSamples} usable pairs in its ${uris.length} shards, but the sweep needs ${input.count} (its largest size): add shards, or lower sizes`,
    );
  }
  const { manifestKey, cached } = await writePairsManifest(deps, input, prefix, result, geometry);
  if (result.labels.unlabeled > 0) log.info('imported pairs without a class label', { source: input.source, unlabeled: result.labels.unlabeled });
  return {
    manifestUri: deps.store.uri(manifestKey),
    totalSamples: result.totalSamples,
    failedItems: 0,
    cached,
    inputShards: result.inputs.length,
    labels: result.labels,
  };
}

/** The imported source's manifest, keyed by the inputs' hashes; written unless a valid one is there. */
async function writePairsManifest(
  deps: ActivityDeps,
  input: ImportPairShardsInput,
  prefix: string,
  result: PairImportResult,
  geometry: ImageGeometry,
): Promise<{ manifestKey: string; cached: boolean }> {
  const shards = await Promise.all(
    result.shards.map(async (s) => {
      const key = `${prefix}/${s.name}`;
      const head = await deps.store.head(key);
      if (!head) throw new Error(`${deps.store.uri(key)} vanished after it was written`);
      return { uri: deps.store.uri(key), sha256: head.sha256, bytes: head.size, samples: s.count, firstIndex: s.firstIndex, failedItems: [] };
    }),
  );
  const manifest: SourceManifest = {
    format: MANIFEST_FORMAT,
    source: input.source,
    kind: 'real-pairs',
    description: input.description,
    classes: input.classes,
    ...geometryField(geometry),
    totalSamples: result.totalSamples,
    shards,
    labels: result.labels,
    inputs: result.inputs,
  };
  const inputsKey = inputHash('pairs-inputs', PAIRS_CODE_VERSION, result.inputs.map((i) => i.sha256));
  const manifestKey = `${prefix}/manifest-n${input.count}-${inputsKey.slice(0, 16)}.json`;
  const cached = await hasValidObject(deps.store, manifestKey);
  if (!cached) await writeManifest(deps.store, manifestKey, manifest);
  return { manifestKey, cached };
}

export function createPairActivities(deps: ActivityDeps) {
  return {
    async writeFashionMnistPairs(input: EmbeddedPairsInput): Promise<EmbeddedPairsOutput> {
      return writeFashionMnistPairs(deps, input);
    },
    async importPairShards(input: ImportPairShardsInput): Promise<ImportPairShardsOutput> {
      return importPairShards(deps, input);
    },
  };
}
