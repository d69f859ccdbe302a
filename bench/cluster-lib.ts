// Helpers of bench/cluster.ts: the two Temporal targets (the production-shaped cluster of
// infra/cluster.sh, a dev server), a stand-in sweep run through an in-process worker, a real sweep
// run through `synthscale worker` processes, and what each leaves in the server (history events
// per workflow, from visibility; database bytes, from PostgreSQL).
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { startSweep } from '../cli/client.js';
import { createPlanActivities } from '../activities/plan/activity.js';
import { projectDataDir } from '../core/activity-deps.js';
import { openStore } from '../core/storage.js';
import type { SweepSpec } from '../contracts/spec/sweep.js';
import type { SweepResult } from '../contracts/sweep.js';
import { bundlerOptions } from '../workers/run-worker.js';
import { TASK_QUEUES } from '../workflows/task-queues.js';
import { BENCH_DIR, ROOT } from './lib.js';
import { standInActivities } from './stand-ins.js';

const run = promisify(execFile);

/** A Temporal server the bench runs sweeps on. */
export interface Target {
  name: 'dev server' | 'cluster';
  address: string;
  env: NodeJS.ProcessEnv;
  /** Bytes of the server's databases (the cluster's PostgreSQL; undefined for the dev server's SQLite). */
  dbBytes(): Promise<number | undefined>;
  stop(): Promise<void>;
}

async function sh(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout, stderr } = await run('bash', [join(ROOT, script), ...args], { env, cwd: ROOT, maxBuffer: 32 << 20, timeout: 1_200_000 });
  return stdout + stderr;
}

/** The cluster on loopback (no worker hosts: the side-by-side runs the same workers against both servers). */
export async function startClusterTarget(): Promise<Target> {
  const home = await mkdtemp(join(tmpdir(), 'synthscale-bench-cluster-'));
  const env = { ...process.env, SYNTHSCALE_CLUSTER_HOME: home, SYNTHSCALE_CLUSTER_LINK: '0' };
  await run('chmod', ['755', home]); // PostgreSQL's own user keeps its data dir below this
  await sh('infra/cluster.sh', ['up'], env);
  const vars = Object.fromEntries(
    (await sh('infra/cluster.sh', ['env'], env))
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return {
    name: 'cluster',
    address: vars.TEMPORAL_ADDRESS!,
    env: { ...env, TEMPORAL_ADDRESS: vars.TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE: vars.TEMPORAL_NAMESPACE ?? 'default' },
    async dbBytes() {
      const out = await sh('infra/cluster.sh', ['dbsize'], env);
      return [...out.matchAll(/^temporal\S* (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    },
    async stop() {
      await sh('infra/cluster.sh', ['down'], env).catch(() => undefined);
      if (!process.env.SYNTHSCALE_KEEP_BENCH_HOME) await rm(home, { recursive: true, force: true });
    },
  };
}

/** A dev server (temporal server start-dev, SQLite) of its own, as the tests and the demo use. */
export async function startDevTarget(port: number): Promise<Target> {
  const { startTestStack } = await import('../test/integration/stack.js');
  const stack = await startTestStack(port, { workers: false });
  return { name: 'dev server', address: stack.env.TEMPORAL_ADDRESS!, env: stack.env, dbBytes: async () => undefined, stop: () => stack.teardown() };
}

async function clientFor(target: Target): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address: target.address });
  return { client: new Client({ connection, namespace: target.env.TEMPORAL_NAMESPACE ?? 'default' }), close: () => connection.close() };
}

/** History events of every run of every workflow of the sweep (visibility's historyLength), and how many runs. */
export async function sweepHistory(target: Target, sweepId: string): Promise<{ events: number; runs: number; bytes: number }> {
  const { client, close } = await clientFor(target);
  try {
    let events = 0;
    let runs = 0;
    let bytes = 0;
    for await (const info of client.workflow.list({ query: `SynthscaleSweepId = '${sweepId.replace(/'/g, '')}'`, pageSize: 1000 })) {
      events += info.historyLength;
      bytes += info.historySize ?? 0;
      runs++;
    }
    return { events, runs, bytes };
  } finally {
    await close();
  }
}

/** A sweep run to its result with instant stand-in activities on one in-process worker per queue. */
export async function standInSweep(target: Target, spec: SweepSpec): Promise<{ seconds: number; result: SweepResult }> {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed
  }
  const storeDir = await mkdtemp(join(tmpdir(), 'synthscale-bench-store-'));
  const cells = spec.sources.length * spec.sizes.length * spec.seeds.length;
  const standIns = standInActivities(createPlanActivities({ store: openStore(storeDir), dataDir: projectDataDir() }), cells);
  const connection = await NativeConnection.connect({ address: target.address });
  const workers: Worker[] = [];
  const running: Promise<unknown>[] = [];
  const { client, close } = await clientFor(target);
  try {
    for (const taskQueue of Object.values(TASK_QUEUES)) {
      const worker = await Worker.create({
        connection,
        namespace: target.env.TEMPORAL_NAMESPACE ?? 'default',
        taskQueue,
        activities: standIns.activities,
        ...(taskQueue === TASK_QUEUES.cpu ? { workflowsPath: `${BENCH_DIR}/workflows.ts`, bundlerOptions, maxCachedWorkflows: 300 } : {}),
        maxConcurrentActivityTaskExecutions: 100,
      });
      workers.push(worker);
      running.push(worker.run());
    }
    const t0 = performance.now();
    const stopped = Promise.race(running.map((p) => p.then(() => Promise.reject(new Error('a worker stopped')))));
    const result = (await Promise.race([(async () => (await startSweep(client, spec)).result())(), stopped])) as SweepResult;
    const seconds = (performance.now() - t0) / 1000;
    if (result.stats.cellsDone !== cells || standIns.trained() !== cells) {
      throw new Error(`${spec.sweepId}: ${result.stats.cellsDone} cells done, ${standIns.trained()} trained, expected ${cells}`);
    }
    return { seconds, result };
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.allSettled(running);
    await close();
    await connection.close().catch(() => undefined);
    await rm(storeDir, { recursive: true, force: true });
  }
}

/** A real sweep (the demo's cells) through `synthscale worker` processes started by infra/stack.sh against the target. */
export async function workerSweep(target: Target, spec: SweepSpec): Promise<{ seconds: number; result: SweepResult }> {
  const home = await mkdtemp(join(tmpdir(), 'synthscale-bench-workers-'));
  const env: NodeJS.ProcessEnv = {
    ...target.env,
    SYNTHSCALE_HOME: home,
    SYNTHSCALE_STORE: join(home, 'store'),
    SYNTHSCALE_WORK_LEDGER: join(home, 'ledger'),
    TEMPORAL_ADDRESS: target.address,
  };
  delete env.SYNTHSCALE_DATA; // the project's dataset cache, as the demo uses
  await sh('infra/stack.sh', ['start-workers'], env);
  const { client, close } = await clientFor(target);
  try {
    const t0 = performance.now();
    const result = (await (await startSweep(client, spec)).result()) as SweepResult;
    return { seconds: (performance.now() - t0) / 1000, result };
  } finally {
    await close();
    await sh('infra/stack.sh', ['stop-workers'], env).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}
