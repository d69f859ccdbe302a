// The dataset import itself, usable without Temporal (runDatasetImport; the activity in
// activity.ts adds heartbeats and resume): validate the input, list the inputs, and return the
// stored result at once when `datasets/imports/<listingKey>/result.json` and its descriptor are
// there (cached); otherwise resolve the classes, stream each split through decode + fit
// (core/image/fit-geometry.ts) into shards of our WebDataset layout (`{key}.png` at the geometry +
// `{key}.json` {label, className, source: the title, index: row in the split}), check each split's
// skip budget and class coverage, and write the descriptor (datasets/<fingerprint>/dataset.json).
// From a cursor (cursor.ts) it resumes where the cursor's last shard ended; the outcome, fingerprint
// included, equals an uninterrupted run's.
import { availableParallelism } from 'node:os';
import type { Storage } from '@google-cloud/storage';
import { ApplicationFailure } from '@temporalio/common';
import { DATASET_IMPORT_CODE_VERSION, type DatasetImportInput, type DatasetImportOutput } from '../../contracts/datasets.js';
import { FAILURE_TYPES } from '../../contracts/failures.js';
import { ImportedDatasetSchema, type ImportedDatasetSpec } from '../../contracts/spec/datasets.js';
import { DatasetInputError, shownName } from '../../core/datasets/imagefolder.js';
import { checkGeometry, type ImageGeometry } from '../../core/image/geometry.js';
import { keySegment } from '../../core/keys.js';
import { sampleKey, ShardFormatError } from '../../core/shards/webdataset.js';
import type { BlobStore } from '../../core/storage.js';
import { badInput, loadClasses, loadWnids } from './classes.js';
import { CURSOR_FORMAT, addSkip, freshSplit, usableCursor, type ImportCursor, type SplitProgress } from './cursor.js';
import { chainNext, chainStart, listingKey } from './fingerprint.js';
import { planFolder, planShards, type LayoutPlan } from './layouts.js';
import { decodeItem, mapOrdered, ShardWriter } from './pipeline.js';
import { cachedResult, finishImport } from './result.js';
import type { SplitSource } from './sources.js';

export interface ImportDeps {
  store: BlobStore;
  /** GCS client for gs:// inputs (default: the shared one). */
  storage?: Storage;
}

export interface ImportProgress {
  phase: 'labels' | 'importing';
  split?: string;
  inputsRead: number;
  imagesWritten: number;
  shardsWritten: number;
  skipped: number;
}

export interface ImportHooks {
  /** Heartbeat details of an earlier attempt (its `cursor`), validated before use. */
  cursor?: unknown;
  /** After every shard written and every split finished: the state to resume from. */
  onCheckpoint?(cursor: ImportCursor): void;
  /** Every `progressEveryMs` while importing. */
  onProgress?(progress: ImportProgress): void;
  progressEveryMs?: number;
  signal?: AbortSignal;
  /** Inputs read and decoded at once (default: 2 per core, 4 to 16). */
  concurrency?: number;
}

/** Everything the split loop needs. */
interface Run {
  store: BlobStore;
  input: DatasetImportInput;
  spec: ImportedDatasetSpec;
  geometry: ImageGeometry;
  title: string;
  classes: string[];
  key: string;
  prefix: string;
  hooks: ImportHooks;
  concurrency: number;
}

/** Import `input.dataset` into `deps.store` (see the header); bad input throws a non-retryable ApplicationFailure naming the field. */
export async function runDatasetImport(deps: ImportDeps, input: DatasetImportInput, hooks: ImportHooks = {}): Promise<DatasetImportOutput> {
  const started = Date.now();
  try {
    return await importDataset(deps, input, hooks, started);
  } catch (err) {
    if (err instanceof DatasetInputError) throw badInput(err.message.startsWith(input.role) ? err.message : `${input.role}: ${err.message}`);
    if (err instanceof ShardFormatError) throw ApplicationFailure.nonRetryable(`${input.role}: ${err.message}`, FAILURE_TYPES.malformedImage);
    throw err;
  }
}

function validate(input: DatasetImportInput): { spec: ImportedDatasetSpec; geometry: ImageGeometry; splits: string[] } {
  const parsed = ImportedDatasetSchema.safeParse(input.dataset);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badInput(`${input.role}.${issue.path.join('.')}: ${issue.message}`);
  }
  let geometry: ImageGeometry;
  try {
    geometry = checkGeometry(input.geometry, 'image');
  } catch (err) {
    throw badInput((err as Error).message);
  }
  if (!Array.isArray(input.splits) || input.splits.length === 0) throw badInput(`${input.role}: name at least one split to import`);
  const splits = input.splits.map((s) => {
    try {
      return keySegment(s, `${input.role} split`);
    } catch (err) {
      throw badInput((err as Error).message);
    }
  });
  if (new Set(splits).size !== splits.length) throw badInput(`${input.role}: a split is named twice in ${splits.join(', ')}`);
  const wanted = input.classes;
  if (wanted !== undefined && (!Array.isArray(wanted) || !wanted.every((c) => typeof c === 'string') || new Set(wanted).size !== wanted.length)) {
    throw badInput(`${input.role}: the sweep's classes to match must be distinct names`);
  }
  return { spec: parsed.data, geometry, splits };
}

async function importDataset(deps: ImportDeps, raw: DatasetImportInput, hooks: ImportHooks, started: number): Promise<DatasetImportOutput> {
  const { spec, geometry, splits } = validate(raw);
  const input = { ...raw, splits };
  const plan: LayoutPlan = spec.kind === 'imagefolder' ? await planFolder(spec, input, deps.storage) : await planShards(spec, input, deps.storage);
  const lists = { classes: await loadClasses(spec.classes, `${input.role}.classes`), wnids: await loadWnids(spec.wnids, `${input.role}.wnids`) };
  const title = spec.title ?? plan.defaultTitle;
  const settings = {
    ...plan.settings,
    kind: spec.kind,
    title,
    geometry,
    splits,
    maxImagePixels: spec.maxImagePixels,
    skipBudget: spec.skipBudget,
    imagesPerShard: spec.imagesPerShard,
    classes: lists.classes?.digest ?? null,
    wnids: lists.wnids?.digest ?? null,
    wanted: input.classes ?? null,
  };
  const key = listingKey({ codeVersion: DATASET_IMPORT_CODE_VERSION, settings, splits: plan.describers });
  const prefix = `datasets/imports/${key}`;
  const cached = await cachedResult(deps.store, key, splits, started);
  if (cached) return cached;

  const progress = (p: ImportProgress) => hooks.onProgress?.(p);
  const { resolved, sources } = await plan.resolve(lists, input.classes, (shards) => progress({ phase: 'labels', inputsRead: shards, imagesWritten: 0, shardsWritten: 0, skipped: 0 }));
  const concurrency = hooks.concurrency ?? Math.min(16, Math.max(4, 2 * availableParallelism()));
  const run: Run = { store: deps.store, input, spec, geometry, title, classes: resolved.classes, key, prefix, hooks, concurrency };
  const cursor = await usableCursor(hooks.cursor, key, splits, resolved.classes.length, deps.store);
  const done: SplitProgress[] = cursor ? [...cursor.done] : [];
  for (const source of sources.slice(done.length)) {
    const resumed = cursor?.current?.split === source.split ? cursor.current : null;
    const state = resumed ?? freshSplit(source.split, resolved.classes.length, chainStart(source.split));
    await importSplit(run, source, state, done);
    checkSplit(run, state);
    done.push(state);
    checkpoint(run, done, null);
  }

  return finishImport({
    store: deps.store,
    listingKey: key,
    title,
    classes: resolved.classes,
    wnids: resolved.wnids,
    geometry,
    origin: { kind: plan.kind, uri: plan.originUri },
    done,
    started,
  });
}

/** A copy of the progress (the caller may keep it while the import goes on) to resume from. */
function checkpoint(run: Run, done: SplitProgress[], current: SplitProgress | null): void {
  run.hooks.onCheckpoint?.(structuredClone({ format: CURSOR_FORMAT, listingKey: run.key, done, current }));
}

/** Stream one split from `state.next` into shards, updating `state` (checkpointed after every shard). */
async function importSplit(run: Run, source: SplitSource, state: SplitProgress, done: SplitProgress[]): Promise<void> {
  const { hooks, geometry, spec } = run;
  const writer = new ShardWriter(run.store, `${run.prefix}/${source.split}`, spec.imagesPerShard);
  const flush = async () => {
    state.shards.push(await writer.flush(state.shards.length, state.count - writer.pending, state.chain));
    checkpoint(run, done, state);
  };
  const every = hooks.progressEveryMs ?? 2000;
  let lastProgress = Date.now();
  for await (const d of mapOrdered(source.items(state.next), run.concurrency, (item) => decodeItem(item, geometry, spec.maxImagePixels))) {
    hooks.signal?.throwIfAborted();
    state.inputs++;
    state.next = d.next;
    if ('skip' in d) {
      addSkip(state.skipped, d.id, d.skip.reason, d.skip.message);
      if (source.total !== undefined && state.skipped.count > spec.skipBudget * source.total) throw budgetFailure(run, state, source.total, true);
    } else {
      state.chain = chainNext(state.chain, d.id, d.label, d.fileSha256);
      state.classCounts[d.label]!++;
      writer.add({ key: sampleKey(state.count), png: d.png, meta: { label: d.label, className: run.classes[d.label]!, source: run.title, index: state.count } });
      state.count++;
      if (writer.full) await flush();
    }
    if (hooks.onProgress && Date.now() - lastProgress >= every) {
      lastProgress = Date.now();
      hooks.onProgress({ phase: 'importing', split: source.split, inputsRead: state.inputs, imagesWritten: state.count, shardsWritten: state.shards.length, skipped: state.skipped.count });
    }
  }
  if (writer.pending > 0) await flush();
}

function budgetFailure(run: Run, state: SplitProgress, total: number, early = false): ApplicationFailure {
  const { skipBudget } = run.spec;
  const reasons = Object.entries(state.skipped.byReason)
    .sort((a, b) => b[1] - a[1])
    .map(([r, n]) => `${r} ${n}`)
    .join(', ');
  const examples = state.skipped.examples.slice(0, 4).map((e) => `${e.item} (${e.reason}: ${e.detail})`).join('; ');
  return ApplicationFailure.nonRetryable(
    `${run.input.role}: split '${state.split}': ${early ? 'at least ' : ''}${state.skipped.count} of ${total} inputs are unusable${early ? ` (stopped after ${state.inputs})` : ''}, over skipBudget ${skipBudget} (at most ${Math.floor(skipBudget * total)}): ${reasons}. ` +
      `Examples: ${examples}. Fix or remove those files, or raise ${run.input.role}.skipBudget (at most 0.5)`,
    FAILURE_TYPES.failureBudgetExceeded,
  );
}

/** After a split: its skip budget, and images of every class. */
function checkSplit(run: Run, state: SplitProgress): void {
  if (state.skipped.count > run.spec.skipBudget * state.inputs) throw budgetFailure(run, state, state.inputs);
  const empty = run.classes.filter((_, i) => state.classCounts[i] === 0);
  if (empty.length > 0) {
    throw badInput(
      `${run.input.role}: split '${state.split}' has no usable images of class${empty.length > 1 ? 'es' : ''} ${empty.slice(0, 10).map((c) => `'${shownName(c, 60)}'`).join(', ')}` +
        `${empty.length > 10 ? ` and ${empty.length - 10} more` : ''}: every class needs images in every split imported (add images, or drop the class from classes)`,
    );
  }
}
