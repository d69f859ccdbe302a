// A 10,000-cell sweep stays inside Temporal's history limits. The workflows and the server are
// real; the activities are instant stand-ins (what is under test is the orchestration's history,
// not training), registered on the three task queues by an in-process worker.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Worker, NativeConnection } from '@temporalio/worker';
import { validateSpec } from '../../contracts/spec/sweep.js';
import { connectClient, startSweep } from '../../cli/client.js';
import { createPlanActivities } from '../../activities/plan/activity.js';
import { depsFromEnv } from '../../core/activity-deps.js';
import { bundlerOptions, WORKFLOWS_PATH } from '../../workers/run-worker.js';
import { TASK_QUEUES } from '../../workflows/task-queues.js';
import type { SweepResult } from '../../contracts/sweep.js';
import { standInActivities } from '../../bench/stand-ins.js';
import { startTestStack, type TestStack } from './stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack(7633, { workers: false });
  process.env.TEMPORAL_ADDRESS = stack.env.TEMPORAL_ADDRESS;
});
after(async () => stack?.teardown());

const HISTORY_EVENT_LIMIT = 51_200;

// 10,000 real child workflows take about 30 minutes on a 2-core dev server (measured: 3,633 cells
// in 11 minutes, 3,586-3,675 events per 500-cell run), too long for CI. The history a run makes
// depends only on its page of cells (cellsPerRun), not on the sweep's size, so CI runs 500 cells
// in pages of 50 and checks that a 10,000-cell sweep at the default page of 500 stays bounded.
test('a sweep of many cells continues as new in pages, keeping each history bounded (10,000-cell projection)', { timeout: 900_000 }, async () => {
  const sizes = Array.from({ length: 10 }, (_, i) => 100 + i * 10);
  const seeds = Array.from({ length: 50 }, (_, i) => i);
  const cellsPerRun = 50;
  const spec = validateSpec({
    sweepId: 'big-sweep',
    dataset: 'fashion-mnist',
    sources: [{ name: 'real', kind: 'real' }],
    sizes,
    seeds,
    maxConcurrentCells: 100,
    cellsPerRun,
  });
  const cells = sizes.length * seeds.length;
  const plan = createPlanActivities(depsFromEnv());
  // The bench's stand-ins (bench/stand-ins.ts): the real plan, instant train/evaluate/analyze/report.
  const standIns = standInActivities(plan, cells);
  const stubs = standIns.activities;
  const connection = await NativeConnection.connect({ address: stack.env.TEMPORAL_ADDRESS! });
  const workers = await Promise.all(
    Object.values(TASK_QUEUES).map((taskQueue) =>
      Worker.create({
        connection,
        taskQueue,
        activities: stubs,
        ...(taskQueue === TASK_QUEUES.cpu ? { workflowsPath: WORKFLOWS_PATH, bundlerOptions, maxCachedWorkflows: 300 } : {}),
        maxConcurrentActivityTaskExecutions: 100,
      }),
    ),
  );
  const { client, close } = await connectClient();
  const t0 = Date.now();
  const running = workers.map(async (w) => {
    await w.run();
    throw new Error('worker stopped');
  });
  try {
    const result = await Promise.race([(async () => (await (await startSweep(client, spec)).result()) as SweepResult)(), ...running]);
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(result.cells, cells);
    assert.equal(result.stats.cellsDone, cells, 'progress counters survive continue-as-new');
    assert.equal(standIns.trained(), cells, 'each cell trained exactly once');
    assert.ok(result.stats.runs >= cells / cellsPerRun, `continued as new: ${result.stats.runs} runs`);
    const runLengths: number[] = [];
    for await (const execution of client.workflow.list({ query: `WorkflowId = 'sweep-big-sweep'` })) runLengths.push(execution.historyLength);
    assert.equal(runLengths.length, result.stats.runs);
    const longest = Math.max(...runLengths);
    const eventsPerCell = longest / cellsPerRun;
    const projected = Math.ceil(eventsPerCell * 500);
    console.log(
      `${cells}-cell sweep: ${seconds.toFixed(0)} s, ${result.stats.runs} runs, longest run ${longest} events ` +
        `(${eventsPerCell.toFixed(1)} per cell); a 10,000-cell sweep at the default 500 cells/run: 20 runs of ~${projected} events`,
    );
    assert.ok(longest < HISTORY_EVENT_LIMIT / 10, `longest run ${longest} events`);
    assert.ok(projected < HISTORY_EVENT_LIMIT / 5, `projected ${projected} events per 500-cell run`);
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.allSettled(running);
    await close();
    await connection.close();
  }
});
