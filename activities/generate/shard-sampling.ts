// Sampling the items of a shard that no committed part holds yet, chunk by chunk: every
// `chunkSize` items the chunk is committed as a part (./parts.ts) and the durable progress is
// heartbeated. On cancellation (e.g. worker shutdown) the partly sampled chunk is committed too,
// within bounds, so the next attempt resumes after it.
import { ApplicationFailure, heartbeat, log } from '@temporalio/activity';
import { FAILURE_TYPES } from '../../contracts/failures.js';
import type { Prompt } from '../../contracts/prompts.js';
import { injectGeneratorFaults } from '../../core/faults.js';
import { memoizePromise } from '../../core/memo.js';
import { callWithTimeout } from '../../core/resilience.js';
import type { ShardRecord } from '../../core/shards/manifest.js';
import { sampleKey, type ShardSample } from '../../core/shards/webdataset.js';
import { getJson, type BlobStore } from '../../core/storage.js';
import { recordWork } from '../../core/work-ledger.js';
import type { ShardBackend } from './backends.js';
import { cancelReason, errorMessage } from './cancellation.js';
import type { ShardGenerator } from './generator-backend.js';
import type { GenerateHeartbeat, GenerateShardInput } from './io.js';
import { sampleItem, type ItemSampling } from './item-sampling.js';
import { writePart } from './parts.js';

/** On cancellation, how long committing the partly sampled chunk may take. */
const CANCEL_FLUSH_MS = 15_000;

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
  const generate = injectGeneratorFaults(generator.itemGenerator());
  const items: ItemSampling = { generate, itemAttempts: s.itemAttempts, itemTimeoutMs: s.itemTimeoutMs, signal: s.signal, onRetry: () => state.itemRetries++ };
  const chunks: Chunks = { ...s, prompts, generator, items };
  while (state.committed < input.count) {
    const from = state.committed;
    const chunk = await sampleChunk(chunks, from, Math.min(input.count, from + s.chunkSize));
    if (chunk.end > from) await commitChunk(chunks, state, from, chunk);
    if (chunk.cancelled !== undefined) throw chunk.cancelled;
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

/** Sample items [from, to) of the shard, stopping early on cancellation. */
async function sampleChunk(c: Chunks, from: number, to: number): Promise<SampledChunk> {
  const { input, signal } = c;
  const out: SampledChunk = { end: from, samples: [], failedItems: [] };
  for (; out.end < to; out.end++) {
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
    heartbeat(c.progress());
    // Let heartbeats, cancellation and timers through between CPU-bound samples.
    await new Promise((r) => setImmediate(r));
  }
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

/** Commit the sampled items [from, chunk.end) as a part and add them to the state. */
async function commitChunk(c: Chunks, state: ShardState, from: number, chunk: SampledChunk): Promise<void> {
  const { input, store } = c;
  state.imagesSampled += chunk.end - from;
  // Ledger ranges are offsets within the shard, [from, to), failed items included.
  recordWork({ kind: 'images', key: input.shardKey, from, to: chunk.end, attempt: c.attempt });
  const part = { shardKey: input.shardKey, fingerprint: c.fingerprint, offset: from, end: chunk.end, samples: chunk.samples, failedItems: chunk.failedItems };
  if (chunk.cancelled === undefined) {
    await writePart(store, part, state.written);
  } else {
    // Cancelled (e.g. worker shutdown) mid-chunk: keep what was sampled, within bounds.
    await callWithTimeout(() => writePart(store, part, state.written), CANCEL_FLUSH_MS, 'committing a partial part').catch((err) =>
      log.warn('could not commit the partial part on cancellation', { shard: input.shardKey, error: errorMessage(err) }),
    );
  }
  state.samples.push(...chunk.samples);
  state.failedItems.push(...chunk.failedItems);
  state.committed = chunk.end;
  heartbeat(c.progress());
}
