// A shard input's checks and what follows from it: the per-item limits, the fingerprint of the
// samples it determines, and whether a stored stats file describes it.
import { ApplicationFailure } from '@temporalio/activity';
import { FAILURE_TYPES } from '../../contracts/failures.js';
import { GENERATOR_CODE_VERSION } from '../../contracts/code-versions.js';
import { inputHash } from '../../core/hash.js';
import { millisecondsFromEnv } from '../../core/resilience.js';
import type { ShardRecord } from '../../core/shards/manifest.js';
import type { GenerateShardInput } from './io.js';

export const GENERATE_ITEM_TIMEOUT_ENV = 'SYNTHSCALE_GENERATE_ITEM_TIMEOUT_MS';
const DEFAULT_ITEM_TIMEOUT_MS = 120_000;
/** Least time between two per-item heartbeats (0: one per item); parts and the keep-alive timer heartbeat regardless. */
export const GENERATE_HEARTBEAT_ENV = 'SYNTHSCALE_GENERATE_HEARTBEAT_MS';
const DEFAULT_HEARTBEAT_MS = 1000;
export const DEFAULT_ITEM_ATTEMPTS = 3;
export const DEFAULT_CHUNK_SIZE = 50;

export interface ShardStats {
  samples: number;
  failedItems: ShardRecord['failedItems'];
  sha256?: string;
}

export function itemTimeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return millisecondsFromEnv(GENERATE_ITEM_TIMEOUT_ENV, DEFAULT_ITEM_TIMEOUT_MS, env);
}

/**
 * Least sampling time a part covers (besides its chunkSize items): parts of a fast generator then
 * hold more items, so a crash loses at most max(chunkSize items, this much sampling) plus the part
 * in flight; 0 makes every part exactly chunkSize items.
 */
export const GENERATE_PART_MIN_ENV = 'SYNTHSCALE_GENERATE_PART_MIN_MS';
const DEFAULT_PART_MIN_MS = 1000;

export function partMinMsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[GENERATE_PART_MIN_ENV];
  if (raw === undefined || raw === '') return DEFAULT_PART_MIN_MS;
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`${GENERATE_PART_MIN_ENV} must be a number of milliseconds >= 0, got '${raw}'`);
  return ms;
}

export function heartbeatIntervalFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[GENERATE_HEARTBEAT_ENV];
  if (raw === undefined || raw === '') return DEFAULT_HEARTBEAT_MS;
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`${GENERATE_HEARTBEAT_ENV} must be a number of milliseconds >= 0, got '${raw}'`);
  return ms;
}

/** failedItems as stored: ascending indices in [lo, hi), each with a reason; null when malformed. */
export function validateFailedItems(value: unknown, lo: number, hi: number): ShardRecord['failedItems'] | null {
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

/** A stored `${shardKey}.stats.json`, when it describes this shard (null otherwise). */
export function parseStats(value: unknown, input: GenerateShardInput): ShardStats | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  const failedItems = validateFailedItems(v.failedItems, input.firstIndex, input.firstIndex + input.count);
  if (!failedItems || !Number.isInteger(v.samples) || (v.samples as number) < 0) return null;
  // A shard stored for another count (a sweep with a smaller largest N) is not this shard.
  if ((v.samples as number) + failedItems.length !== input.count) return null;
  if (v.sha256 !== undefined && typeof v.sha256 !== 'string') return null;
  return { samples: v.samples as number, failedItems, ...(typeof v.sha256 === 'string' ? { sha256: v.sha256 } : {}) };
}

/** Throws a non-retryable invalid-input failure for a malformed input; returns the item and chunk limits. */
export function validateInput(input: GenerateShardInput): { itemAttempts: number; chunkSize: number } {
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

/**
 * What determines a shard's samples (not where they are stored, nor how they are chunked);
 * `backendInputs` are what its generator kind adds (GeneratorBackend.fingerprintInputs).
 */
export function samplesFingerprint(input: GenerateShardInput, backendInputs: Record<string, unknown>): string {
  const { source, modelUri, promptsUri, firstIndex, count, cfgScale, steps, generationSeed, generatorLabel } = input;
  return inputHash('generate-shard', GENERATOR_CODE_VERSION, {
    ...backendInputs,
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
