// Orchestration rows, on a dedicated Temporal dev server (test/integration/stack.ts) with an
// in-process Worker whose activities are instant stand-ins (as test/integration/big-sweep.test.ts):
//  - cells/s of a real scalingSweepWorkflow of >= 500 cells vs the same server's floor: child
//    workflows doing two no-op activities each, in the same sliding window;
//  - latency of one activity round trip (no-op on the generate queue, with generateShard's options)
//    vs the seconds one real generateShard activity takes for a default 1000-image shard.
import { connect } from 'node:net';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { WorkflowIdReusePolicy } from '@temporalio/client';
import { connectClient, startSweep } from '../cli/client.js';
import { createPlanActivities } from '../activities/plan/activity.js';
import { projectDataDir } from '../core/activity-deps.js';
import { openStore } from '../core/storage.js';
import { validateSpec } from '../contracts/spec/sweep.js';
import { startTestStack, type TestStack } from '../test/integration/stack.js';
import { bundlerOptions } from '../workers/run-worker.js';
import { TASK_QUEUES } from '../workflows/task-queues.js';
import type { SweepResult } from '../contracts/sweep.js';
import { BENCH_DIR, load1, median, progress, type Row } from './lib.js';
import { standInActivities } from './stand-ins.js';

const SIZES = Array.from({ length: 10 }, (_, i) => 100 + i * 10);
const SEEDS = Array.from({ length: 50 }, (_, i) => i);
const CELLS = SIZES.length * SEEDS.length; // 500
const WINDOW = 100;
const CELLS_PER_RUN = 50;
/** Floor runs bracket the sweep (one before, one after) because load from other processes drifts. */
const FLOOR_CELLS = 100;
/** A sweep page never has more than cellsPerRun cells in flight, so the floor uses the same effective window. */
const FLOOR_WINDOW = Math.min(WINDOW, CELLS_PER_RUN);
const ROUND_TRIPS = 20;
const SHARD_SIZE = 1000;
/** About the size of a generateShard input (and of its output record). */
const PAYLOAD = 'x'.repeat(400);

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A port (and port + 1000 for the UI) nobody listens on; integration tests use 7433-7633. */
async function freePort(): Promise<number> {
  for (const port of [7733, 7743, 7753, 7763, 7773, 7783, 7793]) {
    if (!(await portOpen(port)) && !(await portOpen(port + 1000))) return port;
  }
  throw new Error('no free port for the bench Temporal server in 7733-7793');
}

// Long on purpose: one scenario read top to bottom (server, workers, three measurements, teardown in
// one try/finally that must see every handle it started).
export async function benchOrchestration(shardSeconds: number): Promise<{ rows: Row[]; info: Record<string, unknown> }> {
  const info: Record<string, unknown> = {};
  const savedAddress = process.env.TEMPORAL_ADDRESS;
  const port = await freePort();
  progress(`orchestration: starting a dedicated Temporal dev server on 127.0.0.1:${port}`);
  let t = performance.now();
  let stack: TestStack | undefined;
  let connection: NativeConnection | undefined;
  const workers: Worker[] = [];
  const running: Promise<never>[] = [];
  let closeClient: (() => Promise<void>) | undefined;
  try {
    stack = await startTestStack(port, { workers: false });
    process.env.TEMPORAL_ADDRESS = stack.env.TEMPORAL_ADDRESS; // read by connectClient
    info.serverStartSeconds = (performance.now() - t) / 1000;

    // The stack's temp store; the dataset from wherever the project finds it (planSweep fingerprints it).
    const plan = createPlanActivities({ store: openStore(stack.store), dataDir: projectDataDir() });
    const spec = validateSpec({
      sweepId: 'bench-sweep',
      dataset: 'fashion-mnist',
      sources: [{ name: 'real', kind: 'real' }],
      sizes: SIZES,
      seeds: SEEDS,
      maxConcurrentCells: WINDOW,
      cellsPerRun: CELLS_PER_RUN,
    });
    const standIns = standInActivities(plan, CELLS);
    const stubs = standIns.activities;
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') }); // the workers' INFO lines would drown the progress output
    } catch {
      // already installed
    }
    progress('orchestration: bundling workflows and starting in-process workers (cpu, generate, train)');
    t = performance.now();
    connection = await NativeConnection.connect({ address: stack.env.TEMPORAL_ADDRESS! });
    for (const taskQueue of Object.values(TASK_QUEUES)) {
      workers.push(
        await Worker.create({
          connection,
          taskQueue,
          activities: stubs,
          ...(taskQueue === TASK_QUEUES.cpu
            ? { workflowsPath: `${BENCH_DIR}/workflows.ts`, bundlerOptions, maxCachedWorkflows: 300 }
            : {}),
          maxConcurrentActivityTaskExecutions: 100,
        }),
      );
    }
    info.workerBundleSeconds = (performance.now() - t) / 1000;
    for (const w of workers) {
      running.push(
        (async () => {
          await w.run();
          throw new Error('worker stopped');
        })(),
      );
    }
    const { client, close } = await connectClient();
    closeClient = close;
    const race = <T>(p: Promise<T>) => Promise.race([p, ...running]);

    // --- warm-up: a few round trips and a small fan-out (workflow cache, connections) ----------
    await race(client.workflow.execute('benchRoundTripWorkflow', { taskQueue: TASK_QUEUES.cpu, workflowId: 'bench-warmup-rt', args: [5, PAYLOAD] }));
    await race(client.workflow.execute('benchFanOutWorkflow', { taskQueue: TASK_QUEUES.cpu, workflowId: 'bench-warmup-fan', args: [20, WINDOW, PAYLOAD] }));

    const floorRun = async (id: string) => {
      progress(`orchestration: floor, ${FLOOR_CELLS} child workflows x 2 no-op activities (window ${FLOOR_WINDOW})`);
      const t0 = performance.now();
      await race(client.workflow.execute('benchFanOutWorkflow', { taskQueue: TASK_QUEUES.cpu, workflowId: id, args: [FLOOR_CELLS, FLOOR_WINDOW, PAYLOAD] }));
      return (performance.now() - t0) / 1000;
    };
    const floorBefore = await floorRun('bench-floor-before');

    // --- the sweep ------------------------------------------------------------------------------
    progress(`orchestration: scalingSweepWorkflow of ${CELLS} cells (window ${WINDOW}, cellsPerRun ${CELLS_PER_RUN}), stand-in activities`);
    t = performance.now();
    const result = (await race((async () => (await startSweep(client, spec)).result())())) as SweepResult;
    const sweepSeconds = (performance.now() - t) / 1000;
    if (result.cells !== CELLS || result.stats.cellsDone !== CELLS || standIns.trained() !== CELLS) {
      throw new Error(`sweep finished with cells=${result.cells} done=${result.stats.cellsDone} trained=${standIns.trained()}, expected ${CELLS}`);
    }
    const sweepLoad = load1();
    info.sweep = { seconds: sweepSeconds, runs: result.stats.runs, stageSeconds: result.stageSeconds };

    const floorAfter = await floorRun('bench-floor-after');
    const floorSeconds = (floorBefore + floorAfter) / 2;
    const sweepRate = CELLS / sweepSeconds;
    const floorRate = FLOOR_CELLS / floorSeconds;

    // --- activity round trip ---------------------------------------------------------------------
    progress(`orchestration: activity round trip, workflows of 0 and ${ROUND_TRIPS} sequential no-op activities, x3 each`);
    const runRt = async (n: number, id: string) => {
      const t0 = performance.now();
      await race(
        client.workflow.execute('benchRoundTripWorkflow', {
          taskQueue: TASK_QUEUES.cpu,
          workflowId: id,
          args: [n, PAYLOAD],
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        }),
      );
      return (performance.now() - t0) / 1000;
    };
    const empty: number[] = [];
    const full: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      empty.push(await runRt(0, `bench-rt0-${rep}`));
      full.push(await runRt(ROUND_TRIPS, `bench-rt${ROUND_TRIPS}-${rep}`));
    }
    const perTrip = full.map((f, i) => (f - empty[i]!) / ROUND_TRIPS);
    const roundTrip = median(perTrip);
    info.roundTrip = { emptyWorkflowSeconds: empty, fullWorkflowSeconds: full, perTripSeconds: perTrip };

    const rows: Row[] = [
      {
        section: 'orchestration',
        measurement: `scalingSweepWorkflow, ${CELLS} cells (1 real source, 10 sizes x 50 seeds; window ${WINDOW}, cellsPerRun ${CELLS_PER_RUN}), instant stand-in activities`,
        value: sweepRate,
        unit: 'cells/s',
        bound: `same server floor: child workflows x 2 no-op activities, window ${FLOOR_WINDOW}, ${FLOOR_CELLS} cells run before and after the sweep`,
        boundValue: floorRate,
        boundUnit: 'cells/s',
        ratio: sweepRate / floorRate,
        note:
          `sweep ${sweepSeconds.toFixed(1)} s end to end (plan, source, ${result.stats.runs} runs via continue-as-new, analysis, report), ` +
          `${((sweepSeconds / CELLS) * 1000).toFixed(0)} ms/cell; floor ${(FLOOR_CELLS / floorBefore).toFixed(2)} cells/s before, ${(FLOOR_CELLS / floorAfter).toFixed(2)} after ` +
          `(bound = their mean time). One sweep (too long to repeat in the budget); dev server (SQLite) + worker share the 2 cores with other load`,
        load1: sweepLoad,
        extra: { sweepSeconds, floorBeforeSeconds: floorBefore, floorAfterSeconds: floorAfter, floorCells: FLOOR_CELLS, runs: result.stats.runs },
        boundSamples: [FLOOR_CELLS / floorBefore, FLOOR_CELLS / floorAfter],
      },
      {
        section: 'orchestration',
        measurement: `activity round trip (no-op on the generate queue, generateShard's timeouts), per image of a ${SHARD_SIZE}-image shard`,
        value: (roundTrip / SHARD_SIZE) * 1000,
        unit: 'ms/img',
        bound: `generation time per image of one real ${SHARD_SIZE}-image generateShard activity (${shardSeconds.toFixed(2)} s)`,
        boundValue: (shardSeconds / SHARD_SIZE) * 1000,
        boundUnit: 'ms/img',
        ratio: roundTrip / shardSeconds,
        ratioLabel: `${((roundTrip / shardSeconds) * 100).toFixed(3)} %`,
        note:
          `round trip ${(roundTrip * 1000).toFixed(1)} ms = (workflow with ${ROUND_TRIPS} sequential no-ops - empty workflow) / ${ROUND_TRIPS}, median of 3 ` +
          `(per-rep ${perTrip.map((x) => (x * 1000).toFixed(1)).join(', ')} ms); ratio = overhead as a share of the shard's generation time`,
        load1: load1(),
        samples: perTrip.map((x) => (x / SHARD_SIZE) * 1000),
        extra: { roundTripSeconds: roundTrip, shardSeconds },
      },
    ];
    return { rows, info };
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.allSettled(running);
    await closeClient?.().catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await stack?.teardown();
    if (savedAddress === undefined) delete process.env.TEMPORAL_ADDRESS;
    else process.env.TEMPORAL_ADDRESS = savedAddress;
  }
}
