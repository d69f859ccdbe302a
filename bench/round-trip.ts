// Where a 1000-image generateShard activity spends time besides generating, and how much of the
// shard's generation time that is. Generation is timed inside the run itself: the embedded
// backend's item generator is wrapped (GENERATOR_BACKENDS['embedded-gmm'], for this process
// only) so every item's sampling + PNG encode is summed, and the overhead of a run is its wall
// time minus that sum. Measured within one run, the split does not depend on how loaded the
// (shared, 2-core) machine was during other runs.
//  - in-activity: the generateShard activity in MockActivityEnvironment (file store): part
//    commits, heartbeats, checks, the final shard, per-item plumbing;
//  - activity round trip: one no-op activity on the generate queue with generateShard's options
//    (bench/workflows.ts benchRoundTripWorkflow), on a dedicated Temporal dev server;
//  - through Temporal: the real generateShard activity run by a real Worker through that server,
//    workflow time minus an empty workflow's, minus the generation inside it: every cost of
//    running a shard as an activity.
// Each value is the median over reps. Set SYNTHSCALE_BENCH_TEMPORAL=0 to skip the server rows.
// Run alone: node --import tsx bench/round-trip.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { Client, Connection, WorkflowIdReusePolicy } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Logger } from '@temporalio/common';
import { createGenerateActivities, type GenerateShardInput } from '../activities/generate/activity.js';
import { GENERATOR_BACKENDS } from '../activities/generate/backends.js';
import { fitGmmGenerator } from '../activities/generate/gmm/fit.js';
import { serializeGmmModel } from '../activities/generate/gmm/model-format.js';
import { synthesizePromptList } from '../activities/prompts/strategies.js';
import { EmbeddedGeneratorSchema } from '../contracts/spec/sweep.js';
import { projectDataDir } from '../core/activity-deps.js';
import { FASHION_MNIST_CLASSES, IMAGE_PIXELS, loadSplit, locateFashionMnist } from '../core/datasets/fashion-mnist.js';
import { openStore, putJson, type BlobStore } from '../core/storage.js';
import { freePort, startTestStack, type TestStack } from '../test/integration/stack.js';
import { bundlerOptions } from '../workers/run-worker.js';
import { TASK_QUEUES } from '../workflows/task-queues.js';
import { BENCH_DIR, load1, median, progress, type Row } from './lib.js';

const CLASSES = [...FASHION_MNIST_CLASSES];
const SHARD_SIZE = 1000;
const FIT_IMAGES = 10_000;
const CFG_SCALE = 2;
const REPS = Number(process.env.SYNTHSCALE_BENCH_REPS ?? 5);
const NOOPS = 10;
const silentLogger: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** Seconds spent inside the embedded generator's item calls (sampling + PNG encode) since the last reset. */
const generation = { seconds: 0, items: 0 };

/** Wrap the embedded backend so every item's generation time is summed into `generation` (this process only). */
function timeGeneration(): void {
  const entry = GENERATOR_BACKENDS['embedded-gmm'];
  const load = entry.load.bind(entry);
  Object.assign(entry, {
    async load(...args: Parameters<typeof entry.load>) {
      const generator = await load(...args);
      const itemGenerator = generator.itemGenerator.bind(generator);
      return {
        ...generator,
        itemGenerator: () => {
          const inner = itemGenerator();
          return async (item: Parameters<typeof inner>[0], signal?: AbortSignal) => {
            const t = performance.now();
            try {
              return await inner(item, signal);
            } finally {
              generation.seconds += (performance.now() - t) / 1000;
              generation.items++;
            }
          };
        },
      };
    },
  });
}

interface Setup {
  store: BlobStore;
  home: string;
  input: (shardKey: string) => GenerateShardInput;
}

async function setUp(): Promise<Setup> {
  const defaults = EmbeddedGeneratorSchema.parse({ name: 'embedded-gmm' });
  const train = await loadSplit(await locateFashionMnist(projectDataDir()), 'train');
  progress(`round trip: fitting the default embedded generator on ${FIT_IMAGES} images`);
  const model = fitGmmGenerator(
    { images: train.images.subarray(0, FIT_IMAGES * IMAGE_PIXELS), labels: train.labels.subarray(0, FIT_IMAGES), count: FIT_IMAGES },
    { pcaDims: defaults.pcaDims, componentsPerClass: defaults.componentsPerClass, fitSeed: defaults.fitSeed },
    CLASSES,
  );
  const home = await mkdtemp(join(tmpdir(), 'synthscale-bench-rt-'));
  const store = openStore(pathToFileURL(join(home, 'store')).href);
  const modelUri = (await store.put('bench/model.bin', serializeGmmModel(model))).uri;
  const prompts = synthesizePromptList('classnames', CLASSES, SHARD_SIZE, 0);
  const promptsUri = (await putJson(store, 'bench/prompts.json', { strategy: 'classnames', seed: 0, prompts })).uri;
  const input = (shardKey: string): GenerateShardInput => ({
    source: 'bench',
    shardKey,
    modelUri,
    promptsUri,
    firstIndex: 0,
    count: SHARD_SIZE,
    cfgScale: CFG_SCALE,
    steps: defaults.steps,
    generationSeed: 0,
    generatorLabel: 'embedded-gmm',
  });
  return { store, home, input };
}

/** A run's wall seconds and the generation seconds inside it. */
interface Split {
  wall: number;
  generation: number;
}

async function measured(run: () => Promise<unknown>): Promise<Split> {
  generation.seconds = 0;
  generation.items = 0;
  const t = performance.now();
  await run();
  const wall = (performance.now() - t) / 1000;
  if (generation.items !== SHARD_SIZE) throw new Error(`expected ${SHARD_SIZE} generated items, timed ${generation.items}`);
  return { wall, generation: generation.seconds };
}

function row(measurement: string, overhead: number[], gen: number[], note: string, extra: Record<string, unknown>): Row {
  const value = median(overhead);
  const bound = median(gen);
  const ratios = overhead.map((o, i) => o / gen[i]!);
  return {
    section: 'orchestration',
    measurement,
    value: (value / SHARD_SIZE) * 1000,
    unit: 'ms/img',
    bound: `generation per image inside the same runs (the embedded generator's item calls: DDIM sampling + PNG encode)`,
    boundValue: (bound / SHARD_SIZE) * 1000,
    boundUnit: 'ms/img',
    ratio: median(ratios),
    ratioLabel: `${(median(ratios) * 100).toFixed(2)} %`,
    note: `${note}; ratio = median over reps of overhead / generation (per rep: ${ratios.map((r) => (r * 100).toFixed(2)).join(', ')} %)`,
    load1: load1(),
    samples: overhead.map((x) => (x / SHARD_SIZE) * 1000),
    boundSamples: gen.map((x) => (x / SHARD_SIZE) * 1000),
    extra,
  };
}

/** The in-activity row: generateShard in MockActivityEnvironment. */
async function benchInActivity(s: Setup): Promise<Row> {
  const activities = createGenerateActivities({ store: s.store, dataDir: s.home });
  let heartbeats = 0;
  const once = (key: string) =>
    measured(async () => {
      const env = new MockActivityEnvironment({ attempt: 1, heartbeatTimeoutMs: 30_000 }, { logger: silentLogger });
      heartbeats = 0;
      env.on('heartbeat', () => heartbeats++);
      await env.run(activities.generateShard, s.input(key));
    });
  progress(`round trip: warm-up (one generateShard activity of ${SHARD_SIZE} images)`);
  await once('bench/warmup/shard-000000.tar');
  const runs: Split[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    runs.push(await once(`bench/mock-${rep}/shard-000000.tar`));
    const r = runs[rep]!;
    progress(`round trip: in-activity rep ${rep}: ${r.wall.toFixed(3)} s, generation ${r.generation.toFixed(3)} s, overhead ${(r.wall - r.generation).toFixed(3)} s; ${heartbeats} heartbeats`);
  }
  return row(
    `generateShard overhead inside the activity (MockActivityEnvironment, file store), per image of a ${SHARD_SIZE}-image shard`,
    runs.map((r) => r.wall - r.generation),
    runs.map((r) => r.generation),
    `activity wall ${runs.map((r) => r.wall.toFixed(3)).join(', ')} s; overhead = wall - generation inside the run; ${heartbeats} heartbeat calls per shard`,
    { runs, heartbeats },
  );
}

async function freeServerPort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    if (port + 1000 < 65536) return port;
  }
  throw new Error('no free port for the bench Temporal server');
}

// One scenario read top to bottom (server, worker, the three workflow kinds, teardown in one
// finally that must see every handle it started).
async function benchThroughTemporal(s: Setup): Promise<Row[]> {
  const port = await freeServerPort();
  progress(`round trip: starting a dedicated Temporal dev server on 127.0.0.1:${port}`);
  let stack: TestStack | undefined;
  let connection: NativeConnection | undefined;
  let clientConnection: Connection | undefined;
  const workers: Worker[] = [];
  const running: Promise<void>[] = [];
  try {
    stack = await startTestStack(port, { workers: false });
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // already installed
    }
    connection = await NativeConnection.connect({ address: stack.env.TEMPORAL_ADDRESS! });
    const real = createGenerateActivities({ store: s.store, dataDir: s.home });
    // benchRoundTripWorkflow calls benchNoop on the generate queue with generateShard's options:
    // a JSON payload is a shard input, run by the real activity; anything else returns at once.
    const benchNoop = async ({ payload }: { payload: string }) => {
      if (payload.startsWith('{')) await real.generateShard(JSON.parse(payload) as GenerateShardInput);
      return { payload: '' };
    };
    progress('round trip: bundling workflows and starting in-process workers (cpu, generate)');
    workers.push(await Worker.create({ connection, taskQueue: TASK_QUEUES.cpu, workflowsPath: `${BENCH_DIR}/workflows.ts`, bundlerOptions }));
    workers.push(await Worker.create({ connection, taskQueue: TASK_QUEUES.generate, activities: { benchNoop } }));
    for (const w of workers) running.push(w.run());
    clientConnection = await Connection.connect({ address: stack.env.TEMPORAL_ADDRESS! });
    const client = new Client({ connection: clientConnection });
    const runWorkflow = async (n: number, payload: string, id: string) => {
      const t = performance.now();
      await client.workflow.execute('benchRoundTripWorkflow', {
        taskQueue: TASK_QUEUES.cpu,
        workflowId: id,
        args: [n, payload],
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      });
      return (performance.now() - t) / 1000;
    };
    await runWorkflow(3, 'x', 'rt-warmup');
    await measured(() => runWorkflow(1, JSON.stringify(s.input('bench/temporal-warmup/shard-000000.tar')), 'rt-warmup-shard'));
    const empty: number[] = [];
    const noops: number[] = [];
    const shards: Split[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      empty.push(await runWorkflow(0, 'x', `rt-empty-${rep}`));
      noops.push(await runWorkflow(NOOPS, 'x', `rt-noops-${rep}`));
      shards.push(await measured(() => runWorkflow(1, JSON.stringify(s.input(`bench/temporal-${rep}/shard-000000.tar`)), `rt-shard-${rep}`)));
      const sh = shards[rep]!;
      progress(`round trip: temporal rep ${rep}: empty ${empty[rep]!.toFixed(3)} s, ${NOOPS} no-ops ${noops[rep]!.toFixed(3)} s, shard ${sh.wall.toFixed(3)} s (generation ${sh.generation.toFixed(3)} s)`);
    }
    const trip = noops.map((x, i) => (x - empty[i]!) / NOOPS);
    const gen = shards.map((r) => r.generation);
    const total = shards.map((r, i) => r.wall - empty[i]! - r.generation);
    return [
      row(
        `activity round trip (no-op on the generate queue, generateShard's timeouts), per image of a ${SHARD_SIZE}-image shard`,
        trip,
        gen,
        `round trip = (workflow with ${NOOPS} sequential no-ops - empty workflow) / ${NOOPS}, per rep ${trip.map((x) => (x * 1000).toFixed(1)).join(', ')} ms; ` +
          `dedicated dev server (SQLite), in-process workers; bound: the generation inside the shard runs below`,
        { roundTripSeconds: trip, emptySeconds: empty, noopsSeconds: noops },
      ),
      row(
        `generateShard through Temporal, everything but generation (round trip + in-activity overhead), per image of a ${SHARD_SIZE}-image shard`,
        total,
        gen,
        `shard workflow ${shards.map((r) => r.wall.toFixed(3)).join(', ')} s, empty workflow ${empty.map((x) => x.toFixed(3)).join(', ')} s; overhead = shard - empty - generation inside the run`,
        { shards, emptySeconds: empty },
      ),
    ];
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.allSettled(running);
    await clientConnection?.close().catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await stack?.teardown();
  }
}

export async function benchRoundTrip(): Promise<Row[]> {
  timeGeneration();
  const s = await setUp();
  try {
    const rows = [await benchInActivity(s)];
    if (process.env.SYNTHSCALE_BENCH_TEMPORAL !== '0') rows.push(...(await benchThroughTemporal(s)));
    return rows;
  } finally {
    await rm(s.home, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await benchRoundTrip();
  for (const r of rows) console.log(`${r.measurement}\n  ${r.value.toFixed(4)} ${r.unit} vs ${r.boundValue.toFixed(4)} ${r.boundUnit}: ${r.ratioLabel}\n  ${r.note}`);
  console.log(`RESULT ${JSON.stringify(rows)}`);
  process.exit(0);
}
