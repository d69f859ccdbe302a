// The real-pairs source: image-caption pairs from img2dataset-layout shards (a lab's LAION/CC
// subset, or the embedded Fashion-MNIST pairs), imported into the sweep's own shard format so
// CLIP training streams them like any other source: images brought to the sweep's geometry (28x28
// grey by default; core/image/resize.ts toGeometryPixels: shorter side, centre crop), the caption kept
// as the sample's text, a class label where one can be read (else UNLABELED).
//
// Content addressing without trusting file names: every input shard is read and hashed; output
// shard o's name carries a hash chained over the input shards read up to it, so a changed input
// gives new names, while an unchanged rerun finds every output shard and skips decoding.
import { createHash } from 'node:crypto';
import { FASHION_MNIST_GEOMETRY, pixelsPerImage, type ImageGeometry } from '../../core/image/geometry.js';
import { encodePng } from '../../core/png.js';
import { sha256 } from '../../core/storage.js';
import { matchClasses } from '../../core/text/text-condition.js';
import { decodePairImages, readPairShard, type PairSample, type PairShardLimits } from '../../core/shards/pairs.js';
import { sampleKey, shardName, UNLABELED, type ShardSample } from '../../core/shards/webdataset.js';
export { UNLABELED };


export type LabelSource = 'metadata' | 'caption' | 'none';

export interface PairLabelCounts {
  /** `label` (an index that agrees with `className`, if given) or `className` in the metadata. */
  metadata: number;
  /** The caption names exactly one class (the text encoder's matcher). */
  caption: number;
  unlabeled: number;
}

/** The class of an imported pair: its metadata's, else the one class its caption names, else none. */
export function labelOfPair(sample: Pick<PairSample, 'meta' | 'caption'>, classes: readonly string[]): { label: number; from: LabelSource } {
  const { label, className } = sample.meta as { label?: unknown; className?: unknown };
  if (Number.isInteger(label) && (label as number) >= 0 && (label as number) < classes.length && (className === undefined || className === classes[label as number])) {
    return { label: label as number, from: 'metadata' };
  }
  if (typeof className === 'string') {
    const index = classes.indexOf(className);
    if (index >= 0) return { label: index, from: 'metadata' };
  }
  const named = matchClasses(sample.caption, classes);
  if (named.length === 1) return { label: named[0]!.cls, from: 'caption' };
  return { label: UNLABELED, from: 'none' };
}

export interface InputShardRecord {
  uri: string;
  sha256: string;
  bytes: number;
  /** Pairs in the shard, and how many of them the import took. */
  samples: number;
  used: number;
  emptyCaptions: number;
  skippedEntries: Record<string, number>;
}

export interface ImportedShard {
  index: number;
  /** shard-000003-<hash>.tar: the hash chains the input shards read so far. */
  name: string;
  firstIndex: number;
  samples: ShardSample[] | null;
  count: number;
}

export interface PairImportOptions {
  uris: readonly string[];
  count: number;
  shardSize: number;
  classes: readonly string[];
  /** What every image is brought to (default 28x28 grey). */
  geometry?: ImageGeometry;
  /** The source's name, written into each sample's metadata. */
  source: string;
  read: (uri: string) => Promise<Uint8Array>;
  limits?: Partial<PairShardLimits>;
  /** Does output shard `name` already exist (valid)? Then its images are not decoded again. */
  exists: (name: string) => Promise<boolean>;
  /** Store one output shard (samples === null when it existed). */
  write: (shard: ImportedShard) => Promise<void>;
  onInput?: (record: InputShardRecord) => void;
}

export interface PairImportResult {
  inputs: InputShardRecord[];
  shards: { name: string; firstIndex: number; count: number }[];
  labels: PairLabelCounts;
  totalSamples: number;
  /** Pairs available in the inputs read (when fewer than `count`, the import came up short). */
  exhausted: boolean;
}

/**
 * Read input shards in order, take their pairs in key order until `count`, and emit output shards
 * of `shardSize`. Malformed shards and undecodable images throw (ShardFormatError or
 * MalformedImageError naming the shard and key): img2dataset writes only images it decoded.
 */
export async function importPairs(opts: PairImportOptions): Promise<PairImportResult> {
  const inputs: InputShardRecord[] = [];
  const shards: PairImportResult['shards'] = [];
  const labels: PairLabelCounts = { metadata: 0, caption: 0, unlabeled: 0 };
  const chain = createHash('sha256');
  const geometry = opts.geometry ?? FASHION_MNIST_GEOMETRY;
  const per = pixelsPerImage(geometry);
  let pending: { sample: PairSample; shard: string }[] = [];
  let taken = 0;

  const flush = async () => {
    const index = shards.length;
    const firstIndex = index * opts.shardSize;
    const part = pending;
    pending = [];
    const digest = createHash('sha256').update(chain.copy().digest()).update(`${firstIndex}+${part.length}`).digest('hex').slice(0, 16);
    const name = `${shardName(index).replace(/\.tar$/, '')}-${digest}.tar`;
    // Labels are counted from captions and metadata either way, so a rerun reports the same counts.
    const labelled = part.map((p) => labelOfPair(p.sample, opts.classes));
    for (const l of labelled) labels[l.from === 'none' ? 'unlabeled' : l.from]++;
    let samples: ShardSample[] | null = null;
    if (!(await opts.exists(name))) {
      samples = [];
      // Decode per input shard so an error names the shard the image came from.
      for (let i = 0; i < part.length; ) {
        let j = i;
        while (j < part.length && part[j]!.shard === part[i]!.shard) j++;
        const pixels = await decodePairImages(part.slice(i, j).map((p) => p.sample), part[i]!.shard, { geometry });
        for (let k = i; k < j; k++) {
          const { sample, shard } = part[k]!;
          const { label } = labelled[k]!;
          const globalIndex = firstIndex + k;
          samples.push({
            key: sampleKey(globalIndex),
            png: encodePng(pixels.subarray((k - i) * per, (k - i + 1) * per), geometry),
            meta: {
              label,
              className: opts.classes[label] ?? '',
              caption: sample.caption,
              source: opts.source,
              index: globalIndex,
              pair: { shard: shard.slice(shard.lastIndexOf('/') + 1), key: sample.key },
            },
          });
        }
        i = j;
      }
    }
    await opts.write({ index, name, firstIndex, samples, count: part.length });
    shards.push({ name, firstIndex, count: part.length });
  };

  for (const uri of opts.uris) {
    if (taken >= opts.count) break;
    const bytes = await opts.read(uri);
    const contents = await readPairShard(bytes, uri, opts.limits);
    const digest = sha256(bytes);
    chain.update(digest);
    const used = Math.min(contents.samples.length, opts.count - taken);
    const record: InputShardRecord = {
      uri,
      sha256: digest,
      bytes: bytes.byteLength,
      samples: contents.samples.length,
      used,
      emptyCaptions: contents.emptyCaptions.length,
      skippedEntries: contents.skippedEntries,
    };
    inputs.push(record);
    opts.onInput?.(record);
    for (const sample of contents.samples.slice(0, used)) {
      pending.push({ sample, shard: uri });
      taken++;
      if (pending.length === opts.shardSize) await flush();
    }
  }
  if (pending.length > 0) await flush();
  return { inputs, shards, labels, totalSamples: taken, exhausted: taken < opts.count };
}
