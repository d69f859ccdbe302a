// Both layouts as one ordered stream of inputs per split, resumable at any input: an image folder's
// files (core/datasets/imagefolder.ts; a position is the entry index) and labelled shards' samples
// (core/datasets/labelled-shards.ts; a position is a shard index and a sample index in it, so a
// resumed import reads only from the shard it stopped in). Each input carries its label in the final
// class order, or the reason it is skipped before decoding.
import type { Hash } from 'node:crypto';
import type { LabelledShardsDatasetSpec } from '../../contracts/spec/datasets.js';
import { DEFAULT_MAX_FILE_BYTES, shownName, type FolderSplit, type ImageFolder, type ImportSkipReason } from '../../core/datasets/imagefolder.js';
import { readLabelledShard, readShardBytes, type RawLabel, type ShardInput } from '../../core/datasets/labelled-shards.js';
import { badInput, type ResolvedClasses } from './classes.js';

/** Where a split's stream resumes: entry `unit` (folders), or sample `within` of shard `unit`. */
export interface ResumePoint {
  unit: number;
  within: number;
}

export interface SourceItem {
  /** Relative path (folders) or `<shard file name>/<key>` (shards): the item id of the fingerprint. */
  id: string;
  /** Class index in the final order, when not skipped. */
  label?: number;
  skip?: { reason: ImportSkipReason; message: string };
  load?: () => Promise<Uint8Array>;
  /** Where the stream continues after this item. */
  next: ResumePoint;
}

export interface SplitSource {
  split: string;
  /** Inputs known before reading (folders), so a split over its skip budget can fail early. */
  total?: number;
  /** Feed what identifies the inputs (ids, sizes, change stamps) into the listing key. */
  describe(hash: Hash): void;
  items(from: ResumePoint): AsyncGenerator<SourceItem>;
}

/** The stream of one image folder split; `classOf` maps a class folder to its index (folders are checked beforehand). */
export function folderSource(folder: ImageFolder, split: FolderSplit, classOf: (folder: string) => number): SplitSource {
  const { entries } = split;
  return {
    split: split.split,
    total: entries.length,
    describe(hash) {
      for (const e of entries) hash.update(`${e.id}\t${e.size}\t${e.stamp}\t${e.skip?.reason ?? ''}\n`);
    },
    async *items(from) {
      for (let i = from.unit; i < entries.length; i++) {
        const e = entries[i]!;
        const next = { unit: i + 1, within: 0 };
        if (e.skip) yield { id: e.id, skip: e.skip, next };
        else yield { id: e.id, label: classOf(e.classFolder), load: () => folder.read(e), next };
      }
    },
  };
}

export interface ShardSourceOptions {
  spec: LabelledShardsDatasetSpec;
  /** The spec field of the split's shards, for messages. */
  where: string;
  maxImageBytes?: number;
}

/** A shard's name for item ids: its file name, so moving the shards keeps ids. */
function shardFileName(uri: string): string {
  return uri.slice(uri.lastIndexOf('/') + 1);
}

/** Map a raw label to a class index in `resolved`, or the reason it cannot be used. */
export function labelIndex(raw: RawLabel, resolved: ResolvedClasses, indexOrder?: number[]): number | { reason: ImportSkipReason; message: string } {
  if ('index' in raw) {
    if (raw.index < 0 || raw.index >= resolved.classes.length) return { reason: 'label-out-of-range', message: `class index ${raw.index} is outside 0..${resolved.classes.length - 1}` };
    return indexOrder ? indexOrder[raw.index]! : raw.index;
  }
  const i = resolved.lookup.get(raw.name);
  return i === undefined ? { reason: 'label-out-of-range', message: `class name "${shownName(raw.name, 60)}" is not in the class list` } : i;
}

/** The stream of one labelled-shards split. `indexOrder` maps a written class index to the final order (an eval dataset's re-ordering). */
export function shardSource(split: string, shards: ShardInput[], opts: ShardSourceOptions, resolved: ResolvedClasses, indexOrder?: number[]): SplitSource {
  const { spec } = opts;
  return {
    split,
    describe(hash) {
      for (const s of shards) hash.update(`${s.uri}\t${s.size}\t${s.stamp}\n`);
    },
    async *items(from) {
      for (let u = from.unit; u < shards.length; u++) {
        const uri = shards[u]!.uri;
        const bytes = await readShardBytes(uri, spec.maxShardBytes, opts.where);
        const { samples } = await readLabelledShard(bytes, uri, { label: spec.label, maxImageBytes: opts.maxImageBytes ?? DEFAULT_MAX_FILE_BYTES });
        const name = shardFileName(uri);
        for (let w = u === from.unit ? from.within : 0; w < samples.length; w++) {
          const s = samples[w]!;
          const id = `${name}/${s.key}`;
          const next = w + 1 < samples.length ? { unit: u, within: w + 1 } : { unit: u + 1, within: 0 };
          if (s.skip) {
            yield { id, skip: s.skip, next };
            continue;
          }
          const label = labelIndex(s.label!, resolved, indexOrder);
          const image = s.image!;
          if (typeof label === 'number') yield { id, label, load: () => Promise.resolve(image), next };
          else yield { id, skip: label, next };
        }
      }
    },
  };
}

/** The label names of every shard (for a dataset without `classes` whose labels are names); undefined when an integer label is seen. */
export async function collectLabelNames(shards: ShardInput[], spec: LabelledShardsDatasetSpec, where: string, onShard?: (done: number) => void): Promise<string[] | undefined> {
  const names = new Set<string>();
  for (let u = 0; u < shards.length; u++) {
    const uri = shards[u]!.uri;
    const { samples } = await readLabelledShard(await readShardBytes(uri, spec.maxShardBytes, where), uri, { label: spec.label, maxImageBytes: DEFAULT_MAX_FILE_BYTES });
    for (const s of samples) {
      if (!s.label) continue;
      if ('index' in s.label) return undefined;
      names.add(s.label.name);
      if (names.size > 10_000) throw badInput(`${where}: more than 10000 distinct label names; give classes`);
    }
    onShard?.(u + 1);
  }
  return [...names].sort();
}
