// Cost per sweep, end to end: real workers record every activity attempt, and the report's
// report.json holds the sweep's cost: wall spans vs summed activity time, CPU-seconds of training,
// no GPU-seconds on this CPU machine, and money at the spec's prices.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { sweepWorkflowId } from '../../cli/client.js';
import { formatCost, loadSweepCost } from '../../cli/cost-view.js';
import { createReportActivities, type RenderReportOutput } from '../../activities/report/activity.js';
import { openStore } from '../../core/storage.js';
import type { SweepCost } from '../../contracts/cost.js';
import { runSweepToEnd, startTestStack, tinySweepSpec, type TestStack } from './stack.js';

const spec = tinySweepSpec('it-cost', { training: { hidden: [32], epochs: 2, minSteps: 20, batchSize: 32, checkpointEvery: 10 } });
const PRICES = { cpuHourUsd: 0.05, gpuHourUsd: 2.5 };

let stack: TestStack;
before(async () => {
  stack = await startTestStack(7840);
  Object.assign(process.env, { TEMPORAL_ADDRESS: stack.env.TEMPORAL_ADDRESS });
});
after(async () => stack?.teardown());

test('a tiny sweep\'s report holds its cost: wall vs summed activity time, CPU- and GPU-seconds, money at the prices', { timeout: 600_000 }, async () => {
  const started = Date.now();
  const result = await runSweepToEnd(spec);
  const elapsed = (Date.now() - started) / 1000;
  const report = JSON.parse(await readFile(fileURLToPath(result.reportUri), 'utf8'));
  const cost = report.cost as SweepCost;
  assert.ok(cost, 'report.json has a cost section');
  const stage = (name: string) => cost.stages.find((s) => s.stage === name);
  for (const name of ['plan', 'prompts', 'fit-generator', 'generate', 'shards', 'train', 'evaluate', 'analyze']) assert.ok(stage(name), `stage ${name} is in the cost: ${cost.stages.map((s) => s.stage).join(', ')}`);
  assert.equal(cost.records.skipped, 0);

  // Wall time: the sweep's elapsed time bounds every stage's span; spans overlap, activity time adds up.
  assert.ok(cost.wall.seconds > 0 && cost.wall.seconds <= elapsed + 1, `sweep wall ${cost.wall.seconds} s, measured ${elapsed} s`);
  for (const s of cost.stages) assert.ok(s.wall.seconds <= cost.wall.seconds + 0.5, `${s.stage}: span ${s.wall.seconds} s within the sweep's ${cost.wall.seconds} s`);
  const summed = cost.stages.reduce((n, s) => n + s.activitySeconds, 0);
  assert.ok(Math.abs(summed - cost.totals.activitySeconds) < 1e-6, 'activity time adds up over stages');
  assert.ok(cost.totals.activitySeconds >= Math.max(...cost.stages.map((s) => s.wall.seconds)) * 0.5, 'summed activity time is of the order of the longest stage span');
  const gen = stage('generate')!;
  assert.ok(gen.activitySeconds >= gen.wall.seconds * 0.5 && gen.activitySeconds <= gen.wall.seconds * 2 + 1, `generate: ${gen.activitySeconds} s of activity in a ${gen.wall.seconds} s span (at most 2 shards at once)`);

  // Training burns CPU on this machine, holds no GPU; its steps and images are counted.
  const train = stage('train')!;
  assert.ok(train.cpuSeconds > 0, `train CPU-seconds ${train.cpuSeconds}`);
  assert.ok(train.steps >= 4 * 20 && train.images === train.steps * 32, `train: ${train.steps} steps, ${train.images} images`);
  assert.ok(train.stepsPerSecond! > 0);
  assert.ok(gen.images >= 200, `generated images: ${gen.images}`);
  for (const s of cost.stages) assert.equal(s.gpuSeconds, 0, `${s.stage}: no GPU on this machine`);
  assert.deepEqual(cost.sources.map((s) => s.source).sort(), ['cfg2', 'real']);
  assert.equal(cost.prices, null, 'no prices in this spec');
  const stageSum = Object.values(result.stageSeconds).reduce((a, b) => a + b, 0);
  console.log(`measured: elapsed ${elapsed.toFixed(1)} s; old stage-timing "total" ${stageSum.toFixed(1)} s; cost wall ${cost.wall.seconds.toFixed(1)} s, ` +
    `summed activity ${cost.totals.activitySeconds.toFixed(1)} s, CPU ${cost.totals.cpuSeconds.toFixed(1)} s over ${cost.totals.attempts} attempts`);

  // Prices: the report activity with the spec's cost field (straight to the activity until the sweep schema has `cost`).
  const store = openStore(stack.store);
  const analysisKey = (await store.list('analyses/')).find((k) => k.includes('it-cost'))!;
  const activities = createReportActivities({ store, dataDir: stack.env.SYNTHSCALE_DATA! });
  const workflowId = sweepWorkflowId('it-cost');
  const priced: RenderReportOutput = await new MockActivityEnvironment().run(activities.renderSweepReport, {
    sweepId: 'it-cost', workflowId, analysisUri: store.uri(analysisKey), spec: { ...spec, cost: PRICES }, stageSeconds: result.stageSeconds, stats: result.stats,
  });
  const pricedCost = JSON.parse(await readFile(fileURLToPath(priced.reportJsonUri), 'utf8')).cost as SweepCost;
  assert.ok(pricedCost.totals.attempts >= cost.totals.attempts, 'the same execution (plus the first report)');
  assert.ok(Math.abs(pricedCost.totals.costUsd! - (pricedCost.totals.cpuSeconds / 3600) * PRICES.cpuHourUsd) < 1e-12, 'cost = CPU-hours x price (no GPU-hours)');
  assert.ok(pricedCost.totals.costUsd! > 0);
  const markdown = await readFile(fileURLToPath(priced.reportMarkdownUri), 'utf8');
  assert.match(markdown, /## Cost/);
  assert.match(markdown, /wall span \(overlapping\)/);

  // `sweep status`: the same numbers from the store.
  const live = await loadSweepCost(store, workflowId, { prices: PRICES, running: false });
  assert.equal(live.totals.attempts, pricedCost.totals.attempts + 0 /* the priced report ran in this process, outside any worker */);
  const lines = formatCost(live);
  assert.match(lines[0]!, /CPU-h.*\$0\.05\/CPU-h/);
  console.log(lines.join('\n'));
});
