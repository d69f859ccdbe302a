// Sampling the items of a shard that no committed part holds yet, chunk by chunk: every
// `chunkSize` items (and at least SYNTHSCALE_GENERATE_PART_MIN_MS of sampling, so a fast generator
// does not pay a part's writes every few milliseconds) the chunk is committed as a part
// (./parts.ts) and the durable progress is heartbeated. On cancellation (e.g. worker shutdown) the partly sampled chunk is committed too,
// within bounds, so the next attempt resumes after it.
//
// What it costs besides sampling (bench/round-trip.ts): a part is written while the next chunk is
// sampled (at most one part in flight; progress counts it only once it is durable, and an error
// writing it fails the attempt at the end of the next chunk), so a crash loses the chunk being
// sampled plus, if it strikes during the previous part's write (milliseconds), that chunk too.
// Per-item heartbeats, which only keep the activity alive (the durable progress changes once per
// part), are sent at most every SYNTHSCALE_GENERATE_HEARTBEAT_MS (default 1 s; the keep-alive
// timer covers long items).
import { ApplicationFailure, heartbeat, log } from '@temporalio/activity';
import { FAILURE_TYPES } from '../../contracts/failures.js';
import type { Prompt } from '../../contracts/prompts.js';
import { injectGeneratorFaults } from '../../core/faults.js';
import { memoizePromise } from '../../core/memo.js';
import { callWithTimeout } from '../../core/resilience.js';
import type { ShardRecord } from '../../core/shards/manifest.js';
import { packShard, sampleKey, type ShardSample } from '../../core/shards/webdataset.js';
import { getJson, type BlobStore } from '../../core/storage.js';
import { recordWork } from '../../core/work-ledger.js';
import type { ShardBackend } from './backends.js';
import { cancelReason, errorMessage } from './cancellation.js';
import type { ShardGenerator } from './generator-backend.js';
import type { GenerateHeartbeat, GenerateShardInput } from './io.js';
import { sampleItem, type ItemSampling } from './item-sampling.js';
import { writePart } from './parts.js';
import { heartbeatIntervalFromEnv, partMinMsFromEnv } from './shard-input.js';

/** On cancellation, how long committing the partly sampled chunk may take. */
const CANCEL_FLUSH_MS = 15_000;
/** Longest run of items without a turn of the event loop (see sampleChunk). */
const YIELD_EVERY_MS = 10;

const promptLists = new Map<string, Promise<Prompt[]>>();

function loadPrompts(store: BlobStore, uri: string): Promise<Prompt[]> {
  return memoizePromise(promptLists, uri, async () => {
    const doc = await getJson<{ prompts: Prompt[] }>(store, store.keyOf(uri), 64 * 1024 * 1024);
    if (!doc || !Array.isArray(doc.prompts)) throw new Error(`${uri}: no prompts array`);
    return doc.prompts;
  }, 16);
}

/** What this attempt has of the shard: items [0, committed) are in committed parts. */
export interface ShardState {
  committed: number;
  /** The tar of every part, in order (resumed ones included): the shard is their concatenation (./parts.ts). */
  tars: Uint8Array[];
  /** Items sampled by this attempt (failed ones included). */
  imagesSampled: number;
  itemRetries: number;
  samples: ShardSample[];
  failedItems: ShardRecord['failedItems'];
  /** Part keys written or seen (deleted once the shard is committed). */
  written: Set<string>;
}

export interface ShardSampling {
  input: GenerateShardInput;
  store: BlobStore;
  backend: ShardBackend;
  fingerprint: string;
  attempt: number;
  chunkSize: number;
  itemAttempts: number;
  itemTimeoutMs: number;
  signal: AbortSignal;
  progress(): GenerateHeartbeat;
}

/** What sampling the chunks needs besides the attempt: prompts, labels and the item generator. */
interface Chunks extends ShardSampling {
  prompts: Prompt[];
  generator: ShardGenerator;
  items: ItemSampling;
  /** Heartbeat now if the last one is at least the throttle interval old. */
  beat(): void;
  /** Least sampling time of a part (besides its chunkSize items). */
  partMinMs: number;
}

/** Sample and commit every item from state.committed to the end of the shard. */
export async function sampleRemaining(s: ShardSampling, state: ShardState): Promise<void> {
  const { input } = s;
  const [generator, prompts] = await Promise.all([s.backend.load(input, s.store), loadPrompts(s.store, input.promptsUri)]);
  if (prompts.length < input.firstIndex + input.count) {
    throw ApplicationFailure.nonRetryable(
      `${input.promptsUri} has ${prompts.length} prompts, shard needs [${input.firstIndex}, ${input.firstIndex + input.count})`,
      FAILURE_TYPES.invalidInput,
    );
  }
  const own = generator.itemGenerator();
  const generate = injectGeneratorFaults(own);
  const items: ItemSampling = {
    generate,
    itemAttempts: s.itemAttempts,
    itemTimeoutMs: s.itemTimeoutMs,
    signal: s.signal,
    onRetry: () => state.itemRetries++,
    checkGeometry: generator.inProcess ? null : generator.geometry,
    direct: generator.inProcess === true && generate === own,
  };
  const intervalMs = heartbeatIntervalFromEnv();
  let lastBeat = 0;
  const beat = () => {
    const now = intervalMs > 0 ? Date.now() : 0;
    if (intervalMs > 0 && now - lastBeat < intervalMs) return;
    lastBeat = now;
    heartbeat(s.progress());
  };
  const chunks: Chunks = { ...s, prompts, generator, items, beat, partMinMs: partMinMsFromEnv() };
  // The part of the previous chunk, written while this one is sampled.
  let writing: Promise<void> | null = null;
  let sampled = state.committed;
  try {
    while (sampled < input.count) {
      const from = sampled;
      const chunk = await sampleChunk(chunks, from, Math.min(input.count, from + s.chunkSize), writing);
      writing = null;
      if (chunk.end > from) {
        // The shard's last chunk goes straight into the shard (committed next): a part of it
        // would only be written to be deleted.
        const last = chunk.end === input.count && chunk.cancelled === undefined;
        writing = commitChunk(chunks, state, from, chunk, !last);
        // Handled when awaited (next chunk); until then a failure must not count as unhandled.
        writing.catch(() => undefined);
      }
      sampled = chunk.end;
      if (chunk.cancelled !== undefined) {
        await writing;
        throw chunk.cancelled;
      }
    }
    if (writing) await writing;
  } finally {
    // A part still in flight when sampling failed: let it settle (its error is the attempt's, or moot).
    if (writing) await (writing as Promise<void>).catch(() => undefined);
  }
}

interface SampledChunk {
  /** Items [from, end) were sampled (end < the chunk's end when cancelled). */
  end: number;
  samples: ShardSample[];
  failedItems: ShardRecord['failedItems'];
  /** The cancellation that stopped the chunk early, if any. */
  cancelled?: unknown;
}

/**
 * Sample items [from, to) of the shard, and on past `to` (to the shard's end at most) until the
 * chunk has taken partMinMs; stop early on cancellation. `previous` (the previous chunk's part
 * being written, a few milliseconds' work) is awaited before returning, so parts land in order;
 * its error fails the attempt here.
 */
async function sampleChunk(c: Chunks, from: number, to: number, previous: Promise<void> | null): Promise<SampledChunk> {
  const { input, signal } = c;
  const out: SampledChunk = { end: from, samples: [], failedItems: [] };
  const writing = { pending: previous !== null };
  previous?.then(
    () => void (writing.pending = false),
    () => void (writing.pending = false),
  );
  const started = performance.now();
  let lastYield = started;
  for (; out.end < to || (out.end < input.count && performance.now() - started < c.partMinMs); out.end++) {
    if (signal.aborted) {
      out.cancelled = cancelReason(signal);
      break;
    }
    const index = input.firstIndex + out.end;
    const prompt = c.prompts[index]!;
    const seed = `${input.generationSeed}|${index}`;
    let outcome;
    try {
      outcome = await sampleItem(c.items, { index, prompt, seed, cfgScale: input.cfgScale, steps: input.steps });
    } catch (err) {
      out.cancelled = err;
      break;
    }
    if ('reason' in outcome) out.failedItems.push({ index, reason: outcome.reason });
    else out.samples.push(generatedSample(c, index, prompt, seed, outcome.png));
    c.beat();
    // Let I/O (the previous part's write), heartbeats, cancellation and timers through between
    // CPU-bound samples: after every item while a part is being written (each of its file
    // operations needs a turn of the event loop), else every YIELD_EVERY_MS. A turn costs tens of
    // microseconds (bench/round-trip.ts), so not one per item.
    const now = performance.now();
    if (writing.pending || now - lastYield >= YIELD_EVERY_MS) {
      await new Promise((r) => setImmediate(r));
      lastYield = performance.now();
    }
  }
  if (previous) await previous;
  return out;
}

/** The sample of item `index`: its PNG and what made it. */
function generatedSample(c: Chunks, index: number, prompt: Prompt, seed: string, png: Uint8Array): ShardSample {
  const { input } = c;
  return {
    key: sampleKey(index),
    png,
    meta: {
      label: prompt.classIndex,
      className: c.generator.classes[prompt.classIndex] ?? String(prompt.classIndex),
      prompt: prompt.text,
      cfgScale: input.cfgScale,
      seed,
      generator: input.generatorLabel,
      source: input.source,
      index,
      ...c.generator.takeSampleMeta(index),
    },
  };
}

/**
 * Commit the sampled items [from, chunk.end) as a part (unless `durable` is false: the shard's last
 * chunk, packed for the shard but not stored); once it is durable, add them to the state and
 * heartbeat the progress. The caller awaits it before the next commit, so parts land in order.
 */
async function commitChunk(c: Chunks, state: ShardState, from: number, chunk: SampledChunk, durable = true): Promise<void> {
  const { input, store } = c;
  state.imagesSampled += chunk.end - from;
  // Ledger ranges are offsets within the shard, [from, to), failed items included.
  recordWork({ kind: 'images', key: input.shardKey, from, to: chunk.end, attempt: c.attempt });
  const part = { shardKey: input.shardKey, fingerprint: c.fingerprint, offset: from, end: chunk.end, samples: chunk.samples, failedItems: chunk.failedItems };
  if (!durable) {
    state.tars.push(await packShard(chunk.samples));
  } else if (chunk.cancelled === undefined) {
    state.tars.push(await writePart(store, part, state.written));
  } else {
    // Cancelled (e.g. worker shutdown) mid-chunk: keep what was sampled, within bounds (the attempt
    // ends here, so the tar is not needed).
    await callWithTimeout(() => writePart(store, part, state.written), CANCEL_FLUSH_MS, 'committing a partial part').catch((err) =>
      log.warn('could not commit the partial part on cancellation', { shard: input.shardKey, error: errorMessage(err) }),
    );
  }
  state.samples.push(...chunk.samples);
  state.failedItems.push(...chunk.failedItems);
  state.committed = chunk.end;
  heartbeat(c.progress());
}
