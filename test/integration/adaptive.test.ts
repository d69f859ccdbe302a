// An adaptive sweep through the real Temporal server, workflows, analysis, decision activity and
// report; only the data, training and evaluation are stand-ins whose results follow a known power
// law with seed noise and N-level effects (./power-law-world.ts). It is steered once while it runs
// (the `steer` update), refused a bad steer, reaches its target with fewer cells than the grid it
// may choose from, and its history replays.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { NativeConnection, Worker } from '@temporalio/worker';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { createCpuActivities } from '../../activities/index.js';
import { connectClient, startSweep } from '../../cli/client.js';
import { projectDataDir } from '../../core/activity-deps.js';
import { getJson, openStore } from '../../core/storage.js';
import type { AdaptiveSteer, DecisionDocument } from '../../contracts/adaptive-run.js';
import { validateSpec } from '../../contracts/spec/sweep.js';
import type { SweepProgress, SweepResult } from '../../contracts/sweep.js';
import { bundlerOptions, WORKFLOWS_PATH } from '../../workers/run-worker.js';
import { TASK_QUEUES } from '../../workflows/task-queues.js';
import { powerLawActivities, type PowerLawTruth } from './power-law-world.js';
import { startTestStack, type TestStack } from './stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack(7393, { workers: false });
  process.env.TEMPORAL_ADDRESS = stack.env.TEMPORAL_ADDRESS;
});
after(async () => stack?.teardown());

const TRUTH: PowerLawTruth = { sources: { real: { a: 2, b: 0.3, la: 6, lb: 0.35 } }, sigma: 0.08, tau: 0.02, seed: 'adaptive-it' };
const SIZES = [100, 160, 250, 400, 630, 1000, 1600, 2500, 4000];
const SEEDS = [0, 1, 2, 3, 4, 5, 6, 7];
const FIRST_ROUND = 3 * 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('an adaptive sweep meets its steered target with fewer cells than its envelope, records each decision, and replays', { timeout: 600_000 }, async () => {
  const spec = validateSpec({
    sweepId: 'adaptive-it',
    dataset: 'fashion-mnist',
    sources: [{ name: 'real', kind: 'real' }],
    sizes: SIZES,
    seeds: SEEDS,
    adaptive: {
      initial: { sizes: [100, 630, 4000], seeds: [0, 1] },
      targets: [{ quantity: 'slope', source: 'real', metric: 'error', halfWidth: 0.08 }],
      budget: { cells: 64 },
      cellsPerRound: 6,
    },
    maxConcurrentCells: 6,
  });
  const store = openStore(stack.store);
  const world = powerLawActivities(store, TRUTH);
  // Round 1's first cell waits for the test: the steer lands while the loop runs, never after it stopped.
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let started = 0;
  const trainClassifier: typeof world.activities.trainClassifier = async (input) => {
    if (started++ >= FIRST_ROUND) await gate;
    return world.activities.trainClassifier(input);
  };
  const cpuActivities = { ...createCpuActivities({ store, dataDir: projectDataDir() }), writeRealShards: world.activities.writeRealShards };
  const connection = await NativeConnection.connect({ address: stack.env.TEMPORAL_ADDRESS! });
  const workers = [
    await Worker.create({ connection, taskQueue: TASK_QUEUES.cpu, activities: cpuActivities, workflowsPath: WORKFLOWS_PATH, bundlerOptions }),
    await Worker.create({ connection, taskQueue: TASK_QUEUES.train, activities: { trainClassifier, evaluateClassifier: world.activities.evaluateClassifier } }),
  ];
  const running = workers.map((w) => w.run());
  const { client, close } = await connectClient();
  try {
    const handle = await startSweep(client, spec);
    while (started <= FIRST_ROUND) await sleep(100);
    const progress = await handle.query<SweepProgress>('progress');
    assert.equal(progress.adaptive?.round, 1, 'round 1 decided');
    assert.equal(progress.adaptive?.intervals[0]?.met, false, `round 1: ${JSON.stringify(progress.adaptive?.intervals[0])}`);

    // A steer naming a source the sweep lacks is refused by the update's validator, naming the field.
    const bad: AdaptiveSteer = { targets: [{ quantity: 'slope', source: 'nope', metric: 'error', halfWidth: 0.05 }] };
    await assert.rejects(handle.executeUpdate('steer', { args: [bad] }), (err: unknown) => {
      assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
      assert.match(String((err as Error).cause), /targets\.0\.source: 'nope' is not a source/);
      return true;
    });
    const steered = await handle.executeUpdate('steer', { args: [{ targets: [{ quantity: 'slope', source: 'real', metric: 'error', halfWidth: 0.05 }] } satisfies AdaptiveSteer] });
    assert.equal((steered as { round: number }).round, 1);
    release();

    const result = (await handle.result()) as SweepResult;
    const report = await getJson<{ adaptive?: { decisions: DecisionDocument[] } }>(store, store.keyOf(result.reportUri), 64 << 20);
    const decisions = report.adaptive?.decisions ?? [];
    const last = decisions.at(-1)!;
    const interval = last.decision.intervals[0]!;
    const envelope = SIZES.length * SEEDS.length;
    console.log(
      `adaptive sweep: ${decisions.length} decisions, ${result.cells} cells of an envelope of ${envelope}; ` +
        `slope ${interval.estimate?.toFixed(3)} [${interval.lo?.toFixed(3)}, ${interval.hi?.toFixed(3)}] (true ${TRUTH.sources.real!.b}); ${last.decision.stop?.detail}`,
    );
    assert.equal(last.decision.stop?.reason, 'targets-met', JSON.stringify(last.decision.stop));
    assert.ok(interval.halfWidth! <= 0.05, `half-width ${interval.halfWidth}`);
    assert.ok(interval.lo! <= TRUTH.sources.real!.b && TRUTH.sources.real!.b <= interval.hi!, 'the interval covers the true slope');
    assert.ok(result.cells < envelope, `${result.cells} cells < ${envelope}`);
    assert.equal(world.counts.trained, result.cells, 'each cell trained once');
    // The first decision was taken on the spec's target, the later ones on the steered one.
    const halfWidth = (d: DecisionDocument) => (d.targets[0] as { halfWidth: number }).halfWidth;
    assert.equal(halfWidth(decisions[0]!), 0.08);
    assert.ok(decisions.slice(1).every((d) => halfWidth(d) === 0.05));
    assert.ok(decisions.slice(0, -1).every((d) => d.decision.cells.length > 0 && d.decision.actions.every((a) => a.reason.length > 20)));

    const markdown = new TextDecoder().decode(await store.get(store.keyOf(result.reportMarkdownUri)));
    assert.match(markdown, /## Adaptive sweep\n\nThe sweep chose its own cells after a first grid: \d+ decisions/);
    assert.match(markdown, /Targets or budget were changed while it ran/);
    assert.match(markdown, /Round 1 \(after 6 cells/);
    assert.ok(await store.head(store.keyOf(result.reportMarkdownUri).replace(/report\.md$/, 'adaptive-widths.svg')), 'the width figure');

    // Every run of the sweep replays against the workflow code (the decisions came from activities).
    for await (const execution of client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) {
      const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH, bundlerOptions }, history, execution.workflowId);
    }
  } finally {
    release();
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.allSettled(running);
    await close();
    await connection.close();
  }
});
