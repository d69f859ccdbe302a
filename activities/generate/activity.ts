// Generation stage: fit the embedded generator once (cached), then render one shard per activity.
//
// A shard survives crashes, restarts and reruns without redoing finished work:
// - every `chunkSize` items the chunk is committed as a part object (see "Parts" below) and the
//   activity heartbeats its durable progress (GenerateHeartbeat);
// - a retried attempt verifies the parts already in storage (listing them, so it resumes even when
//   the last heartbeat was lost; the heartbeat details are only a cross-check) and continues after
//   the last contiguous valid part;
// - the finished shard is re-packed from all samples (sorted entries, fixed mtime), so its bytes
//   equal those of an uninterrupted run; then `${shardKey}.stats.json` is written (the commit
//   marker) and the parts are deleted;
// - a committed shard whose checksums verify is returned as is (cached), doing no work.
//
// Parts: `${shardKey}.part-NNNNNN` (NNNNNN = the chunk's first offset within the shard, 6+ digits)
// is a WebDataset tar of the chunk's samples (packShard), and `${shardKey}.part-NNNNNN.json` is its
// sidecar, written after the tar (so it commits the part): { format, shard, fingerprint, offset,
// end, samples, failedItems, sha256 }, covering offsets [offset, end). Items that failed for good
// are listed in the sidecar's failedItems and are absent from the tar. `fingerprint` hashes the
// inputs that determine the samples, so parts of another configuration are never reused.
import { FAILURE_TYPES } from '../../contracts/failures.js';
import {
  activityInfo,
  ApplicationFailure,
  CancelledFailure,
  cancellationSignal,
  heartbeat,
  log,
} from '@temporalio/activity';
import { IMAGE_SIDE } from '../../core/datasets/fashion-mnist.js';
import { injectGeneratorFaults, injectStorageFaults } from '../../core/faults.js';
import { inputHash } from '../../core/hash.js';
import { decodeGrayPng, encodeGrayPng } from '../../core/png.js';
import { memoizePromise } from '../../core/memo.js';
import { backoffDelay, callWithTimeout, millisecondsFromEnv, withRetries, type ResilientBlobStore } from '../../core/resilience.js';
import type { EmbeddedGeneratorSpec, GeneratorSpec } from '../../contracts/spec/sweep.js';
import { ChecksumMismatchError, getJson, hasValidObject, NotFoundError, sha256, type BlobStore } from '../../core/storage.js';
import { recordWork } from '../../core/work-ledger.js';
import { loadDatasetSplit, type ActivityDeps } from '../../core/activity-deps.js';
import type { Prompt } from '../../contracts/prompts.js';
import type { ShardRecord } from '../../core/shards/manifest.js';
import { packShard, sampleKey, ShardFormatError, unpackShard, type ShardSample } from '../../core/shards/webdataset.js';
import {
  deserializeGmmModel,
  fitGmmGenerator,
  GENERATOR_CODE_VERSION,
  sampleImage,
  serializeGmmModel,
  type GmmGeneratorModel,
} from './gmm-diffusion.js';
import { promptAttributes, promptToClassWeights } from '../../core/text/text-condition.js';
import { createHttpItemGenerator, HTTP_BACKEND_CODE_VERSION, type HttpImageMeta } from './http-backends.js';
import { isHttpGeneratorSpec } from '../../contracts/spec/generators.js';

export const GENERATE_ITEM_TIMEOUT_ENV = 'SYNTHSCALE_GENERATE_ITEM_TIMEOUT_MS';
const DEFAULT_ITEM_TIMEOUT_MS = 120_000;
export const DEFAULT_ITEM_ATTEMPTS = 3;
export const DEFAULT_CHUNK_SIZE = 50;
export const PART_FORMAT = 'synthscale-shard-part-1';
const ITEM_BACKOFF_BASE_MS = 100;
const ITEM_BACKOFF_MAX_MS = 2000;
/** On cancellation, how long committing the partly sampled chunk may take. */
const CANCEL_FLUSH_MS = 15_000;

export interface FitGeneratorInput {
  generator: EmbeddedGeneratorSpec;
  classes: string[];
  datasetFingerprint: string;
}

export interface FitGeneratorOutput {
  modelUri: string;
  cached: boolean;
  seconds: number;
}

export interface GenerateShardInput {
  source: string;
  shardKey: string;
  modelUri: string;
  promptsUri: string;
  firstIndex: number;
  count: number;
  cfgScale: number;
  steps: number;
  generationSeed: number;
  generatorLabel: string;
  /**
   * The source's generator spec. Absent or 'embedded-gmm': the embedded generator at `modelUri`;
   * an HTTP generator ('a1111', 'openai-images'): its endpoint, with `modelUri` unused. Holds no
   * secrets: a token is named by `apiKeyEnv` and read from the worker's environment.
   */
  generator?: GeneratorSpec;
  /** Class names (needed when there is no embedded model to take them from). */
  classes?: string[];
  /** Tries per item before it is recorded in failedItems (default 3). */
  itemAttempts?: number;
  /** Items per committed part, i.e. the most work a crash can lose (default 50). */
  chunkSize?: number;
}

export interface GenerateShardOutput extends ShardRecord {
  cached: boolean;
  seconds: number;
  /** The Temporal attempt that produced this output (1 = first try). */
  attempt: number;
  /** Items sampled by this attempt (failed ones included): 0 when cached or fully resumed. */
  imagesSampled: number;
  /** Offset within the shard this attempt started sampling at (count when cached). */
  resumedFrom: number;
  /** Per-item retries in this attempt. */
  itemRetries: number;
  /** Storage calls retried in this attempt. */
  storageRetries: number;
  /** An existing shard or part failed its checksum (or validation) and was regenerated. */
  corruptRegenerated: boolean;
}

/** Durable progress, as heartbeat details: items [0, imagesDone) of `shard` are in committed parts. */
export interface GenerateHeartbeat {
  imagesDone: number;
  of: number;
  shard: string;
}

/** One unit of work for a text-to-image backend. */
export interface GenerateItem {
  /** Prompt index in the source's prompt list (also the sample's index). */
  index: number;
  prompt: Prompt;
  seed: string;
  cfgScale: number;
  steps: number;
}

/**
 * The per-item backend seam: returns a 28x28 grayscale PNG. The embedded generator implements it;
 * a remote HTTP backend can plug in here (honouring `signal`, which aborts on timeout/cancellation).
 * Errors with `transient === false` are not retried.
 */
export type ItemGenerator = (item: GenerateItem, signal?: AbortSignal) => Promise<Uint8Array>;

interface PartMeta {
  format: typeof PART_FORMAT;
  shard: string;
  fingerprint: string;
  offset: number;
  end: number;
  samples: number;
  failedItems: ShardRecord['failedItems'];
  sha256: string;
}

interface ShardStats {
  samples: number;
  failedItems: ShardRecord['failedItems'];
  sha256?: string;
}

class InvalidPartError extends Error {}

const models = new Map<string, Promise<GmmGeneratorModel>>();
const promptLists = new Map<string, Promise<Prompt[]>>();


export function itemTimeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return millisecondsFromEnv(GENERATE_ITEM_TIMEOUT_ENV, DEFAULT_ITEM_TIMEOUT_MS, env);
}

export function partKey(shardKey: string, offset: number): string {
  return `${shardKey}.part-${String(offset).padStart(6, '0')}`;
}

const partMetaKey = (shardKey: string, offset: number) => `${partKey(shardKey, offset)}.json`;

/** Heartbeat details come from an earlier attempt: untrusted, accepted only if they describe this shard. */
export function parseGenerateHeartbeat(details: unknown, input: Pick<GenerateShardInput, 'shardKey' | 'count'>): GenerateHeartbeat | null {
  if (!details || typeof details !== 'object') return null;
  const d = details as Record<string, unknown>;
  if (d.shard !== input.shardKey || d.of !== input.count) return null;
  if (!Number.isInteger(d.imagesDone) || (d.imagesDone as number) < 0 || (d.imagesDone as number) > input.count) return null;
  return { imagesDone: d.imagesDone as number, of: input.count, shard: input.shardKey };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function cancelReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new CancelledFailure(typeof reason === 'string' ? reason : 'activity cancelled');
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(cancelReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function validateFailedItems(value: unknown, lo: number, hi: number): ShardRecord['failedItems'] | null {
  if (!Array.isArray(value)) return null;
  let previous = -1;
  for (const item of value) {
    if (!item || typeof item !== 'object') return null;
    const { index, reason } = item as Record<string, unknown>;
    if (!Number.isInteger(index) || (index as number) < lo || (index as number) >= hi || (index as number) <= previous) return null;
    if (typeof reason !== 'string') return null;
    previous = index as number;
  }
  return value as ShardRecord['failedItems'];
}

function parseStats(value: unknown, input: GenerateShardInput): ShardStats | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  const failedItems = validateFailedItems(v.failedItems, input.firstIndex, input.firstIndex + input.count);
  if (!failedItems || !Number.isInteger(v.samples) || (v.samples as number) < 0) return null;
  // A shard stored for another count (a sweep with a smaller largest N) is not this shard.
  if ((v.samples as number) + failedItems.length !== input.count) return null;
  if (v.sha256 !== undefined && typeof v.sha256 !== 'string') return null;
  return { samples: v.samples as number, failedItems, ...(typeof v.sha256 === 'string' ? { sha256: v.sha256 } : {}) };
}

function validateInput(input: GenerateShardInput): { itemAttempts: number; chunkSize: number } {
  const bad = (field: string, expected: string) =>
    ApplicationFailure.nonRetryable(`generateShard: ${field}=${JSON.stringify((input as unknown as Record<string, unknown>)[field])} (${expected})`, FAILURE_TYPES.invalidInput);
  if (!Number.isInteger(input.count) || input.count < 0) throw bad('count', 'a non-negative integer');
  if (!Number.isInteger(input.firstIndex) || input.firstIndex < 0) throw bad('firstIndex', 'a non-negative integer');
  const itemAttempts = input.itemAttempts ?? DEFAULT_ITEM_ATTEMPTS;
  if (!Number.isInteger(itemAttempts) || itemAttempts < 1 || itemAttempts > 100) throw bad('itemAttempts', 'an integer in [1, 100]');
  const chunkSize = input.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 100_000) throw bad('chunkSize', 'an integer in [1, 100000]');
  return { itemAttempts, chunkSize };
}

/** What determines a shard's samples (not where they are stored, nor how they are chunked). */
function samplesFingerprint(input: GenerateShardInput): string {
  const { source, modelUri, promptsUri, firstIndex, count, cfgScale, steps, generationSeed, generatorLabel, generator } = input;
  const http = generator && isHttpGeneratorSpec(generator) ? { http: HTTP_BACKEND_CODE_VERSION, generator } : {};
  return inputHash('generate-shard', GENERATOR_CODE_VERSION, {
    ...http,
    source,
    modelUri,
    promptsUri,
    firstIndex,
    count,
    cfgScale,
    steps,
    generationSeed,
    generatorLabel,
  });
}

interface VerifiedPart {
  end: number;
  samples: ShardSample[];
  failedItems: ShardRecord['failedItems'];
}

/** Read and check one committed part: sidecar shape, fingerprint, checksums and sample keys. */
async function readPart(
  store: BlobStore,
  input: GenerateShardInput,
  offset: number,
  fingerprint: string,
): Promise<VerifiedPart | 'stale'> {
  const where = store.uri(partKey(input.shardKey, offset));
  let meta: Partial<PartMeta>;
  try {
    meta = await getJson<Partial<PartMeta>>(store, partMetaKey(input.shardKey, offset), 1024 * 1024);
  } catch (err) {
    if (err instanceof SyntaxError) throw new InvalidPartError(`${where}.json is not valid JSON`);
    throw err;
  }
  if (!meta || typeof meta !== 'object' || meta.format !== PART_FORMAT || meta.shard !== input.shardKey) {
    throw new InvalidPartError(`${where}.json is not a ${PART_FORMAT} sidecar of this shard`);
  }
  if (meta.fingerprint !== fingerprint) return 'stale';
  const end = meta.end;
  if (meta.offset !== offset || !Number.isInteger(end) || end! <= offset || end! > input.count) {
    throw new InvalidPartError(`${where}.json: range [${meta.offset}, ${meta.end}) does not fit offset ${offset} of ${input.count}`);
  }
  const failedItems = validateFailedItems(meta.failedItems, input.firstIndex + offset, input.firstIndex + end!);
  if (!failedItems || typeof meta.sha256 !== 'string' || !Number.isInteger(meta.samples)) {
    throw new InvalidPartError(`${where}.json: malformed failedItems, samples or sha256`);
  }
  const bytes = await store.get(partKey(input.shardKey, offset), { maxBytes: 512 * 1024 * 1024 });
  if (sha256(bytes) !== meta.sha256) throw new InvalidPartError(`${where}: sha256 differs from its sidecar`);
  const samples = await unpackShard(bytes, where);
  const failed = new Set(failedItems.map((f) => f.index));
  const expected: string[] = [];
  for (let i = offset; i < end!; i++) if (!failed.has(input.firstIndex + i)) expected.push(sampleKey(input.firstIndex + i));
  if (samples.length !== meta.samples || samples.length !== expected.length || samples.some((s, i) => s.key !== expected[i])) {
    throw new InvalidPartError(`${where}: holds ${samples.length} samples, expected ${expected.length} (keys ${expected[0] ?? '-'}..)`);
  }
  for (const s of samples) {
    if (s.meta.index !== Number(s.key)) throw new InvalidPartError(`${where} [${s.key}]: metadata index ${s.meta.index}`);
  }
  return { end: end!, samples, failedItems };
}

interface Resume {
  offset: number;
  samples: ShardSample[];
  failedItems: ShardRecord['failedItems'];
  /** Part keys (tars and sidecars) seen in storage. */
  existing: Set<string>;
}

function partsPrefix(shardKey: string): string {
  return `${shardKey}.part-`;
}

/** Part objects (tars and sidecars) of a shard currently in storage. */
async function listParts(store: BlobStore, shardKey: string): Promise<string[]> {
  const slash = shardKey.lastIndexOf('/');
  if (slash < 0) return []; // A key at the store root: nothing to list by; parts are found by probing.
  const prefix = partsPrefix(shardKey);
  return (await store.list(shardKey.slice(0, slash))).filter((key) => key.startsWith(prefix));
}

/** Delete parts, the part at offset 0 last (its absence then means no parts remain) and sidecars before tars. */
async function deleteParts(store: BlobStore, shardKey: string, keys: Iterable<string>): Promise<void> {
  const prefix = partsPrefix(shardKey);
  const offsetOf = (key: string) => Number(/^(\d+)/.exec(key.slice(prefix.length))?.[1] ?? 0);
  const sorted = [...new Set(keys)].sort((a, b) => offsetOf(b) - offsetOf(a) || (a.endsWith('.json') ? -1 : 1) - (b.endsWith('.json') ? -1 : 1));
  for (const key of sorted) await store.delete(key);
}

async function resumeFromParts(
  store: BlobStore,
  input: GenerateShardInput,
  fingerprint: string,
  onCorrupt: (reason: string) => void,
): Promise<Resume> {
  const existing = new Set(await listParts(store, input.shardKey));
  const samples: ShardSample[] = [];
  const failedItems: ShardRecord['failedItems'] = [];
  let offset = 0;
  while (offset < input.count) {
    const metaKey = partMetaKey(input.shardKey, offset);
    // The listing may lag behind (object stores) or be unavailable (root keys): probe the sidecar too.
    if (!existing.has(metaKey) && !(await store.head(metaKey))) break;
    existing.add(metaKey).add(partKey(input.shardKey, offset));
    let part: VerifiedPart | 'stale';
    try {
      part = await readPart(store, input, offset, fingerprint);
    } catch (err) {
      if (err instanceof NotFoundError) break; // an uncommitted part: regenerate from here
      if (!(err instanceof ChecksumMismatchError || err instanceof InvalidPartError || err instanceof ShardFormatError)) throw err;
      onCorrupt(errorMessage(err));
      await deleteParts(store, input.shardKey, [metaKey, partKey(input.shardKey, offset)]);
      break;
    }
    if (part === 'stale') {
      log.warn('ignoring a part written for other inputs', { part: partKey(input.shardKey, offset) });
      await deleteParts(store, input.shardKey, [metaKey, partKey(input.shardKey, offset)]);
      break;
    }
    samples.push(...part.samples);
    failedItems.push(...part.failedItems);
    offset = part.end;
  }
  return { offset, samples, failedItems, existing };
}

/** The embedded generator behind the per-item seam. */
function embeddedGenerator(model: GmmGeneratorModel): ItemGenerator {
  return async (item) =>
    encodeGrayPng(
      sampleImage(model, {
        classWeights: promptToClassWeights(item.prompt.text, model.classes),
        attributes: promptAttributes(item.prompt.text, model.classes),
        cfgScale: item.cfgScale,
        steps: item.steps,
        seed: item.seed,
      }),
      IMAGE_SIDE,
      IMAGE_SIDE,
    );
}

export function createGenerateActivities(deps: ActivityDeps) {
  const loadModel = (store: BlobStore, uri: string) =>
    memoizePromise(models, uri, async () => deserializeGmmModel(await store.get(store.keyOf(uri), { maxBytes: 64 * 1024 * 1024 })), 16);
  const loadPrompts = (store: BlobStore, uri: string) =>
    memoizePromise(promptLists, uri, async () => {
      const doc = await getJson<{ prompts: Prompt[] }>(store, store.keyOf(uri), 64 * 1024 * 1024);
      if (!doc || !Array.isArray(doc.prompts)) throw new Error(`${uri}: no prompts array`);
      return doc.prompts;
    }, 16);
  const resilientStore = (what: string): ResilientBlobStore =>
    withRetries(injectStorageFaults(deps.store), {
      onRetry: (op, err) => log.warn('retrying storage call', { op, for: what, error: errorMessage(err) }),
    });

  return {
    async fitGenerator(input: FitGeneratorInput): Promise<FitGeneratorOutput> {
      const started = Date.now();
      const store = resilientStore('fitGenerator');
      const key = `generators/${input.generator.name}-${inputHash('fit-generator', GENERATOR_CODE_VERSION, input)}/model.bin`;
      if (await hasValidObject(store, key, (m) => log.warn('refitting corrupt generator', { reason: m }))) {
        return { modelUri: store.uri(key), cached: true, seconds: (Date.now() - started) / 1000 };
      }
      const train = await loadDatasetSplit(deps, 'train');
      const model = fitGmmGenerator(
        train,
        { pcaDims: input.generator.pcaDims, componentsPerClass: input.generator.componentsPerClass, fitSeed: input.generator.fitSeed },
        input.classes,
        (message) => heartbeat({ phase: message }),
      );
      recordWork({ kind: 'generator-fit', key, from: 0, to: 1, attempt: activityInfo().attempt });
      const put = await store.put(key, serializeGmmModel(model));
      return { modelUri: put.uri, cached: false, seconds: (Date.now() - started) / 1000 };
    },

    async generateShard(input: GenerateShardInput): Promise<GenerateShardOutput> {
      const started = Date.now();
      const info = activityInfo();
      const attempt = info.attempt;
      const signal = cancellationSignal();
      const { itemAttempts, chunkSize } = validateInput(input);
      const itemTimeoutMs = itemTimeoutFromEnv();
      const store = resilientStore(input.shardKey);
      const statsKey = `${input.shardKey}.stats.json`;
      let corruptRegenerated = false;
      const onCorrupt = (reason: string) => {
        corruptRegenerated = true;
        log.warn('regenerating corrupt shard data', { shard: input.shardKey, reason });
      };
      const record = (head: { sha256: string; size: number }, failedItems: ShardRecord['failedItems'], samples: number): ShardRecord => ({
        uri: store.uri(input.shardKey),
        sha256: head.sha256,
        bytes: head.size,
        samples,
        firstIndex: input.firstIndex,
        failedItems,
      });

      // Fast path: the stats file is written after the tar, so together they mark the shard done.
      if ((await hasValidObject(store, statsKey, onCorrupt)) && (await hasValidObject(store, input.shardKey, onCorrupt))) {
        const head = await store.head(input.shardKey);
        const stats = parseStats(await getJson(store, statsKey), input);
        if (head && stats && (stats.sha256 === undefined || stats.sha256 === head.sha256)) {
          // Parts left by a crash after the commit (deleted highest offset first, so part 0 is the tell).
          if (await store.head(partMetaKey(input.shardKey, 0)).catch(() => null)) {
            await deleteParts(store, input.shardKey, await listParts(store, input.shardKey)).catch((err) =>
              log.warn('could not delete leftover parts', { shard: input.shardKey, error: errorMessage(err) }),
            );
          }
          return {
            ...record(head, stats.failedItems, stats.samples),
            cached: true,
            seconds: (Date.now() - started) / 1000,
            attempt,
            imagesSampled: 0,
            resumedFrom: input.count,
            itemRetries: 0,
            storageRetries: store.stats().retries,
            corruptRegenerated: false,
          };
        }
        onCorrupt(`${store.uri(statsKey)} does not describe ${store.uri(input.shardKey)}`);
      }

      const fingerprint = samplesFingerprint(input);
      const resume = await resumeFromParts(store, input, fingerprint, onCorrupt);
      const hint = parseGenerateHeartbeat(info.heartbeatDetails, input);
      if (hint && hint.imagesDone !== resume.offset) {
        log.warn('heartbeat progress differs from the verified parts; trusting the parts', {
          shard: input.shardKey,
          heartbeat: hint.imagesDone,
          verified: resume.offset,
        });
      }
      if (resume.offset > 0) log.info('resuming shard', { shard: input.shardKey, from: resume.offset, of: input.count, attempt });
      const resumedFrom = resume.offset;
      const samples = resume.samples;
      const failedItems = resume.failedItems;
      const written = new Set(resume.existing);
      let committed = resume.offset;
      let imagesSampled = 0;
      let itemRetries = 0;
      const progress = (): GenerateHeartbeat => ({ imagesDone: committed, of: input.count, shard: input.shardKey });
      heartbeat(progress());
      // Keep-alive: an item may legitimately take longer than the heartbeat timeout (a remote
      // backend); hangs are bounded by the item and storage timeouts instead.
      const keepAliveMs = Math.min(10_000, Math.max(1000, Math.floor((info.heartbeatTimeoutMs ?? 30_000) / 3)));
      const keepAlive = setInterval(() => heartbeat(progress()), keepAliveMs);
      keepAlive.unref();

      try {
        if (committed < input.count) {
          const http = input.generator && isHttpGeneratorSpec(input.generator) ? input.generator : null;
          const [model, prompts] = await Promise.all([http ? null : loadModel(store, input.modelUri), loadPrompts(store, input.promptsUri)]);
          const classNames = model?.classes ?? input.classes ?? [];
          if (prompts.length < input.firstIndex + input.count) {
            throw ApplicationFailure.nonRetryable(
              `${input.promptsUri} has ${prompts.length} prompts, shard needs [${input.firstIndex}, ${input.firstIndex + input.count})`,
              FAILURE_TYPES.invalidInput,
            );
          }
          // What each HTTP image came back as (kept in the sample's metadata; no timings, so shard
          // bytes stay reproducible).
          const httpMeta = new Map<number, NonNullable<ShardSample['meta']['http']>>();
          const onImage = (item: GenerateItem, m: HttpImageMeta) =>
            httpMeta.set(item.index, {
              endpoint: m.endpoint,
              seed: m.seed,
              ...(m.reportedSeed === undefined ? {} : { reportedSeed: m.reportedSeed }),
              ...(m.revisedPrompt === undefined ? {} : { revisedPrompt: m.revisedPrompt }),
              format: m.source.format,
              width: m.source.width,
              height: m.source.height,
              bytes: m.source.bytes,
            });
          const generate = injectGeneratorFaults(http ? createHttpItemGenerator(http, { onImage }) : embeddedGenerator(model!));

          /** One item with retries: its PNG, or the reason it failed for good. Throws only on cancellation. */
          const sampleItem = async (item: GenerateItem): Promise<{ png: Uint8Array } | { reason: string }> => {
            let lastError: unknown;
            for (let tries = 1; tries <= itemAttempts; tries++) {
              if (signal.aborted) throw cancelReason(signal);
              try {
                const png = await callWithTimeout((s) => generate(item, s), itemTimeoutMs, `generating prompt ${item.index}`, { parent: signal });
                decodeGrayPng(png, IMAGE_SIDE, IMAGE_SIDE, `prompt ${item.index}`); // backends are untrusted
                return { png };
              } catch (err) {
                if (signal.aborted) throw cancelReason(signal);
                lastError = err;
                if ((err as { transient?: unknown }).transient === false || tries === itemAttempts) break;
                itemRetries++;
                // An HTTP 429/503 may say when to come back (Retry-After, already capped).
                const retryAfterMs = Number((err as { retryAfterMs?: unknown }).retryAfterMs ?? 0);
                await abortableSleep(Math.max(backoffDelay(tries, ITEM_BACKOFF_BASE_MS, ITEM_BACKOFF_MAX_MS), Number.isFinite(retryAfterMs) ? retryAfterMs : 0), signal);
              }
            }
            return { reason: errorMessage(lastError).slice(0, 200) };
          };

          const commitPart = async (from: number, to: number, chunk: ShardSample[], chunkFailed: ShardRecord['failedItems']) => {
            const tar = await packShard(chunk);
            const put = await store.put(partKey(input.shardKey, from), tar);
            written.add(partKey(input.shardKey, from));
            const meta: PartMeta = {
              format: PART_FORMAT,
              shard: input.shardKey,
              fingerprint,
              offset: from,
              end: to,
              samples: chunk.length,
              failedItems: chunkFailed,
              sha256: put.sha256,
            };
            await store.put(partMetaKey(input.shardKey, from), new TextEncoder().encode(JSON.stringify(meta)));
            written.add(partMetaKey(input.shardKey, from));
          };

          while (committed < input.count) {
            const from = committed;
            const end = Math.min(input.count, from + chunkSize);
            const chunk: ShardSample[] = [];
            const chunkFailed: ShardRecord['failedItems'] = [];
            let cancelled: unknown;
            let offset = from;
            for (; offset < end; offset++) {
              if (signal.aborted) {
                cancelled = cancelReason(signal);
                break;
              }
              const index = input.firstIndex + offset;
              const prompt = prompts[index]!;
              const seed = `${input.generationSeed}|${index}`;
              let outcome;
              try {
                outcome = await sampleItem({ index, prompt, seed, cfgScale: input.cfgScale, steps: input.steps });
              } catch (err) {
                cancelled = err;
                break;
              }
              if ('reason' in outcome) {
                chunkFailed.push({ index, reason: outcome.reason });
              } else {
                chunk.push({
                  key: sampleKey(index),
                  png: outcome.png,
                  meta: {
                    label: prompt.classIndex,
                    className: classNames[prompt.classIndex] ?? String(prompt.classIndex),
                    prompt: prompt.text,
                    cfgScale: input.cfgScale,
                    seed,
                    generator: input.generatorLabel,
                    source: input.source,
                    index,
                    ...(httpMeta.has(index) ? { http: httpMeta.get(index)! } : {}),
                  },
                });
                httpMeta.delete(index);
              }
              heartbeat(progress());
              // Let heartbeats, cancellation and timers through between CPU-bound samples.
              await new Promise((r) => setImmediate(r));
            }
            if (offset > from) {
              imagesSampled += offset - from;
              // Ledger ranges are offsets within the shard, [from, to), failed items included.
              recordWork({ kind: 'images', key: input.shardKey, from, to: offset, attempt });
              if (cancelled === undefined) {
                await commitPart(from, offset, chunk, chunkFailed);
              } else {
                // Cancelled (e.g. worker shutdown) mid-chunk: keep what was sampled, within bounds.
                await callWithTimeout(() => commitPart(from, offset, chunk, chunkFailed), CANCEL_FLUSH_MS, 'committing a partial part').catch((err) =>
                  log.warn('could not commit the partial part on cancellation', { shard: input.shardKey, error: errorMessage(err) }),
                );
              }
              samples.push(...chunk);
              failedItems.push(...chunkFailed);
              committed = offset;
              heartbeat(progress());
            }
            if (cancelled !== undefined) throw cancelled;
          }
        }

        const put = await store.put(input.shardKey, await packShard(samples));
        const stats: ShardStats = { samples: samples.length, failedItems, sha256: put.sha256 };
        await store.put(statsKey, new TextEncoder().encode(JSON.stringify(stats)));
        // The shard is committed: parts are garbage now, and failing to delete them is not a failure.
        await deleteParts(store, input.shardKey, written).catch((err) =>
          log.warn('could not delete parts of a committed shard', { shard: input.shardKey, error: errorMessage(err) }),
        );
        return {
          ...record(put, failedItems, samples.length),
          cached: false,
          seconds: (Date.now() - started) / 1000,
          attempt,
          imagesSampled,
          resumedFrom,
          itemRetries,
          storageRetries: store.stats().retries,
          corruptRegenerated,
        };
      } finally {
        clearInterval(keepAlive);
      }
    },
  };
}
