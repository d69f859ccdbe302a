// Shared by the generateShard tests: a small fitted generator and a prompt list in a temporary
// store, a work ledger, and helpers that run one attempt in @temporalio/testing's
// MockActivityEnvironment (attempt and heartbeatDetails set per retry; heartbeats collected).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Info } from '@temporalio/activity';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { FASHION_MNIST_CLASSES, IMAGE_PIXELS, loadSplit, locateFashionMnist } from '../../../core/datasets/fashion-mnist.js';
import { FAULTS_ENV } from '../../../core/faults.js';
import { STORAGE_TIMEOUT_ENV } from '../../../core/resilience.js';
import { openStore, type BlobStore } from '../../../core/storage.js';
import { readLedger, totalWork, WORK_LEDGER_ENV } from '../../../core/work-ledger.js';
import { createGenerateActivities } from '../../../activities/generate/activity.js';
import { fitGmmGenerator } from '../../../activities/generate/gmm/fit.js';
import { serializeGmmModel } from '../../../activities/generate/gmm/model-format.js';
import type { GenerateHeartbeat, GenerateShardInput, GenerateShardOutput } from '../../../activities/generate/io.js';
import { GENERATE_HEARTBEAT_ENV, GENERATE_ITEM_TIMEOUT_ENV, GENERATE_PART_MIN_ENV } from '../../../activities/generate/shard-input.js';
import { synthesizePromptList } from '../../../activities/prompts/strategies.js';

// Activity environment: MockActivityEnvironment runs the activity with a mocked Context (info,
// heartbeats as 'heartbeat' events, cancel()). Its logger is silenced: corruption tests log warnings.

const silentLogger: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

function createActivityEnv(info: Partial<Info> = {}): MockActivityEnvironment {
  return new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000, ...info }, { logger: silentLogger });
}

export const COUNT = 45;
export const CHUNK = 10;
export const FIRST = 100;

/** Filled in by the before hook of useShardFixture. */
export const fx = {} as {
  dir: string;
  store: BlobStore;
  ledgerDir: string;
  base: Omit<GenerateShardInput, 'shardKey'>;
  activities: ReturnType<typeof createGenerateActivities>;
};
const savedEnv: Record<string, string | undefined> = {};
const ENV_KEYS = [WORK_LEDGER_ENV, FAULTS_ENV, STORAGE_TIMEOUT_ENV, GENERATE_ITEM_TIMEOUT_ENV, GENERATE_HEARTBEAT_ENV, GENERATE_PART_MIN_ENV];

/** Set up the store, model, prompts and ledger before the file's tests, and clean up after. */
export function useShardFixture(): void {
  before(async () => {
    for (const key of ENV_KEYS) savedEnv[key] = process.env[key];
    for (const key of ENV_KEYS) delete process.env[key];
    fx.dir = await mkdtemp(join(tmpdir(), 'synthscale-generate-'));
    fx.ledgerDir = join(fx.dir, 'ledger');
    process.env[WORK_LEDGER_ENV] = fx.ledgerDir;
    // A heartbeat per item (production throttles them to one a second), so tests can cancel at any
    // item, and parts of exactly CHUNK items (production lets a fast generator's parts cover 1 s).
    process.env[GENERATE_HEARTBEAT_ENV] = '0';
    process.env[GENERATE_PART_MIN_ENV] = '0';
    const store = (fx.store = openStore(join(fx.dir, 'store')));
    const train = await loadSplit(await locateFashionMnist(join(process.cwd(), '.synthscale/data')), 'train');
    const n = 3000;
    const model = fitGmmGenerator(
      { images: train.images.subarray(0, n * IMAGE_PIXELS), labels: train.labels.subarray(0, n), count: n },
      { pcaDims: 8, componentsPerClass: 2, fitSeed: 1 },
      FASHION_MNIST_CLASSES,
    );
    const modelPut = await store.put('generators/test/model.bin', serializeGmmModel(model));
    const prompts = synthesizePromptList('classnames', FASHION_MNIST_CLASSES, FIRST + COUNT, 3);
    const promptsPut = await store.put('prompts/test.json', new TextEncoder().encode(JSON.stringify({ prompts })));
    fx.base = {
      source: 'src-test',
      modelUri: modelPut.uri,
      promptsUri: promptsPut.uri,
      firstIndex: FIRST,
      count: COUNT,
      cfgScale: 2,
      steps: 10,
      generationSeed: 7,
      generatorLabel: 'embedded-gmm@test',
      chunkSize: CHUNK,
    };
    fx.activities = createGenerateActivities({ store, dataDir: join(process.cwd(), '.synthscale/data') });
  });

  after(async () => {
    for (const key of ENV_KEYS) {
      if (savedEnv[key] === undefined) delete process.env[key];
      else process.env[key] = savedEnv[key];
    }
    await rm(fx.dir, { recursive: true, force: true });
  });
}

export const input = (shard: string, extra: Partial<GenerateShardInput> = {}): GenerateShardInput => ({ ...fx.base, shardKey: `sources/test/${shard}.tar`, ...extra });
export const imagesDone = (key: string, attempt?: number) => totalWork(readLedger(fx.ledgerDir), { kind: 'images', key, ...(attempt ? { attempt } : {}) });
export const partsOf = async (key: string) => (await fx.store.list('sources/test')).filter((k) => k.startsWith(`${key}.part-`));
/** Where the committed parts of a shard end: offsets [0, end) are in contiguous parts (0 without any). */
export async function partsEnd(key: string): Promise<number> {
  let end = 0;
  for (;;) {
    const sidecar = `${key}.part-${String(end).padStart(6, '0')}.json`;
    if (!(await fx.store.head(sidecar))) return end;
    end = (JSON.parse(new TextDecoder().decode(await fx.store.get(sidecar))) as { end: number }).end;
  }
}
const fileOf = (key: string) => join(fx.dir, 'store', ...key.split('/'));

export async function flipByte(key: string): Promise<void> {
  const path = fileOf(key);
  const data = await readFile(path);
  data[Math.floor(data.length / 2)]! ^= 0xff;
  await writeFile(path, data);
}

/** Run one attempt; heartbeats are collected, and `cancelWhen` may cancel it on a heartbeat. */
export async function runAttempt(
  shardInput: GenerateShardInput,
  info: Partial<Info> = {},
  cancelWhen?: (hb: GenerateHeartbeat, heartbeatCount: number) => boolean,
  acts = fx.activities,
): Promise<{ out?: GenerateShardOutput; error?: unknown; heartbeats: GenerateHeartbeat[] }> {
  const env = createActivityEnv(info);
  const heartbeats: GenerateHeartbeat[] = [];
  let cancelled = false;
  env.on('heartbeat', (details: unknown) => {
    heartbeats.push(details as GenerateHeartbeat);
    if (!cancelled && cancelWhen?.(details as GenerateHeartbeat, heartbeats.length)) {
      cancelled = true;
      env.cancel('CANCELLED');
    }
  });
  try {
    return { out: await env.run(acts.generateShard, shardInput), heartbeats };
  } catch (error) {
    return { error, heartbeats };
  }
}

/** Run fn with the given injected faults (SYNTHSCALE_FAULTS) and environment variables set. */
export async function withFaults<T>(faults: object, env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  process.env[FAULTS_ENV] = JSON.stringify(faults);
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    delete process.env[FAULTS_ENV];
    for (const key of Object.keys(env)) delete process.env[key];
  }
}

let reference: Promise<{ out?: GenerateShardOutput; error?: unknown; bytes?: Uint8Array }> | undefined;

/** The uninterrupted run of the 'reference' shard, and its bytes (run once per file). */
export function referenceRun(): Promise<{ out?: GenerateShardOutput; error?: unknown; bytes?: Uint8Array }> {
  reference ??= runAttempt(input('reference')).then(async (run) => ({ ...run, ...(run.out ? { bytes: await fx.store.get(input('reference').shardKey) } : {}) }));
  return reference;
}

/** The reference shard's bytes and output (it must have succeeded). */
export async function referenceShard(): Promise<{ out: GenerateShardOutput; bytes: Uint8Array }> {
  const run = await referenceRun();
  if (!run.out || !run.bytes) throw new Error(`the reference run failed: ${String(run.error)}`);
  return { out: run.out, bytes: run.bytes };
}
