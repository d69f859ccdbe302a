// Planning an import per layout: list the inputs (cheap: names, sizes, change stamps; nothing
// decoded), say what identifies them for the listing key, and, only when the import really runs,
// resolve the classes and open one stream per split (activities/datasets/sources.ts).
import type { Hash } from 'node:crypto';
import type { Storage } from '@google-cloud/storage';
import type { DatasetImportInput } from '../../contracts/datasets.js';
import type { ImageFolderDatasetSpec, LabelledShardsDatasetSpec } from '../../contracts/spec/datasets.js';
import { DatasetInputError, openImageFolder, shownName, type FolderSplit, type ImageFolder } from '../../core/datasets/imagefolder.js';
import { listShardInputs, type ShardInput } from '../../core/datasets/labelled-shards.js';
import { badInput, classFolderName, orderClasses, resolveClasses, type LoadedList, type ResolvedClasses } from './classes.js';
import { collectLabelNames, folderSource, shardSource, type SplitSource } from './sources.js';

export interface ClassLists {
  classes?: LoadedList;
  wnids?: LoadedList;
}

export interface LayoutPlan {
  kind: 'imagefolder' | 'webdataset';
  originUri: string;
  defaultTitle: string;
  /** Layout settings that go into the listing key. */
  settings: Record<string, unknown>;
  describers: { split: string; describe(hash: Hash): void }[];
  resolve(lists: ClassLists, wanted: string[] | undefined, onShardRead?: (shards: number) => void): Promise<{ resolved: ResolvedClasses; sources: SplitSource[] }>;
}

/** The last non-empty part of a path or URI (a bucket root: the bucket). */
function lastPart(location: string): string {
  const parts = location.replace(/^[a-z]+:\/\//i, '').split('/').filter((p) => p !== '');
  return parts.at(-1) ?? location;
}

/** DatasetInputError as a non-retryable failure, its message prefixed with `where` unless it starts with it. */
function rethrowInput(where: string): (err: unknown) => never {
  return (err: unknown) => {
    if (err instanceof DatasetInputError) throw badInput(err.message.startsWith(where) ? err.message : `${where}: ${err.message}`);
    throw err;
  };
}

export async function planFolder(spec: ImageFolderDatasetSpec, input: DatasetImportInput, storage?: Storage): Promise<LayoutPlan> {
  const where = `${input.role}.root`;
  const folder = await openImageFolder(spec.root, input.splits, { storage }).catch(rethrowInput(where));
  const splits = input.splits.map((s) => folder.splits[s]!);
  return {
    kind: 'imagefolder',
    originUri: spec.root,
    defaultTitle: lastPart(spec.root),
    settings: { root: spec.root },
    describers: splits.map((s) => ({ split: s.split, describe: (hash: Hash) => folderSource(folder, s, () => 0).describe(hash) })),
    async resolve(lists, wanted) {
      const reference = splits.find((s) => s.split === 'train') ?? splits[0]!;
      const resolved = orderClasses(resolveClasses(reference.classFolders, lists.classes, lists.wnids, input.role), wanted, input.role);
      for (const s of splits) checkFolders(folder, s, resolved, where);
      return { resolved, sources: splits.map((s) => folderSource(folder, s, (f) => resolved.lookup.get(f)!)) };
    },
  };
}

/** Every class folder is a class, and every class has exactly one folder in the split. */
function checkFolders(folder: ImageFolder, split: FolderSplit, resolved: ResolvedClasses, where: string): void {
  const owner = new Map<number, string>();
  const list = resolved.classes.slice(0, 8).map((c) => shownName(c, 40)).join(', ') + (resolved.classes.length > 8 ? ', ...' : '');
  for (const f of split.classFolders) {
    const i = resolved.lookup.get(f);
    if (i === undefined) {
      throw badInput(`${where}: extra class folder ${folder.root}/${split.split}/${shownName(f)}: not one of the classes (${list}); remove the folder or add its class to classes`);
    }
    const other = owner.get(i);
    if (other !== undefined) throw badInput(`${where}: folders ${shownName(other)} and ${shownName(f)} of split '${split.split}' both hold class '${shownName(resolved.classes[i]!)}'`);
    owner.set(i, f);
  }
  resolved.classes.forEach((name, i) => {
    if (owner.has(i)) return;
    const names = [...new Set([name, classFolderName(name), resolved.wnids?.[i] ?? name])].map((n) => shownName(n, 60)).join(' or ');
    throw badInput(`${where}: class '${shownName(name)}' has no folder in split '${split.split}' (looked for ${names}); every class needs images in every split imported`);
  });
}

export async function planShards(spec: LabelledShardsDatasetSpec, input: DatasetImportInput, storage?: Storage): Promise<LayoutPlan> {
  const shards: Record<string, ShardInput[]> = {};
  for (const split of input.splits) {
    const patterns = Object.hasOwn(spec.splits, split) ? spec.splits[split] : undefined;
    if (!patterns) throw badInput(`${input.role}.splits: no split '${shownName(split)}' (the spec names ${Object.keys(spec.splits).map((s) => shownName(s)).join(', ')})`);
    const where = `${input.role}.splits.${split}`;
    shards[split] = await listShardInputs(patterns, spec.maxShardBytes, where, storage).catch(rethrowInput(where));
  }
  const first = spec.splits[input.splits[0]!]![0]!;
  return {
    kind: 'webdataset',
    originUri: first,
    defaultTitle: lastPart(first.slice(0, Math.max(first.lastIndexOf('/'), 0)) || first),
    settings: { label: spec.label, maxShardBytes: spec.maxShardBytes },
    describers: input.splits.map((split) => ({ split, describe: (hash: Hash) => shardSource(split, shards[split]!, { spec, where: '' }, { classes: [], lookup: new Map() }).describe(hash) })),
    async resolve(lists, wanted, onShardRead) {
      let found: string[] | undefined;
      if (!lists.classes) {
        const names = new Set<string>();
        let read = 0;
        for (const split of input.splits) {
          const where = `${input.role}.splits.${split}`;
          const got = await collectLabelNames(shards[split]!, spec, where, () => onShardRead?.(++read)).catch(rethrowInput(where));
          if (!got) throw badInput(`${input.role}.classes: the labels are class indices, so give the class names in label order (a list, or a classes file)`);
          for (const n of got) names.add(n);
        }
        found = [...names].sort();
      }
      const base = resolveClasses(found, lists.classes, lists.wnids, input.role);
      const resolved = orderClasses(base, wanted, input.role);
      const indexOrder = base.classes.map((c) => resolved.classes.indexOf(c));
      const sources = input.splits.map((split) => shardSource(split, shards[split]!, { spec, where: `${input.role}.splits.${split}` }, resolved, indexOrder));
      return { resolved, sources };
    },
  };
}
