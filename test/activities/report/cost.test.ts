// The sweep's cost: usage records folded into wall spans vs summed activity time, CPU/GPU-seconds,
// throughput and money (contracts/cost.ts), rendered in the Time and Cost sections, and written
// by the report activity into report.json from records in a real FileStore.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CostAggregator, costUsd, formatUsd, scopeOfWorkflowId, STAGE_OF_ACTIVITY, type SweepCost, type UsageRecord } from '../../../contracts/cost.js';
import { CostPricesSchema } from '../../../contracts/spec/cost.js';
import { createCpuActivities, createGenerateActivities, createTrainActivities } from '../../../activities/index.js';
import { createReportActivities, type RenderReportOutput } from '../../../activities/report/activity.js';
import { costSections } from '../../../activities/report/sections-cost.js';
import { runSections } from '../../../activities/report/sections-context.js';
import { toMarkdown } from '../../../activities/report/document.js';
import { openStore, putJson, type BlobStore } from '../../../core/storage.js';
import { usageRecordKey } from '../../../core/usage/record.js';
import type { SweepStats } from '../../../contracts/sweep.js';
import { META, sweepAnalysis, sweepSources } from './report-fixtures.js';

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const PRICES = { cpuHourUsd: 0.05, gpuHourUsd: 2.5 };

/** One attempt: `from`..`to` in seconds after T0. */
function attempt(workflowId: string, activityType: string, from: number, to: number, over: Partial<UsageRecord> = {}): UsageRecord {
  return {
    v: 1, workflowId, activityType, activityId: `${activityType}-${from}`, attempt: 1, taskQueue: 'cpu',
    startedAt: T0 + from * 1000, endedAt: T0 + to * 1000, cpuSeconds: (to - from) * 0.5, gpus: 0, gpuSeconds: 0, outcome: 'completed', ...over,
  };
}

/** A small sweep: plan, two overlapping generate shards, a train cell retried once, a GPU evaluation, analysis. */
function sweepRecords(wf: string): UsageRecord[] {
  return [
    attempt(wf, 'planSweep', 0, 2),
    attempt(`${wf}/source/synth`, 'generateShard', 2, 12, { images: 100 }),
    attempt(`${wf}/source/synth`, 'generateShard', 7, 17, { images: 100 }),
    attempt(`${wf}/cell/synth/n100/s0`, 'trainClassifier', 20, 30, { outcome: 'failed', cpuSeconds: 9 }),
    attempt(`${wf}/cell/synth/n100/s0`, 'trainClassifier', 32, 52, { attempt: 2, steps: 40, images: 1280, cpuSeconds: 19 }),
    attempt(`${wf}/cell/real/clip/n200/s1`, 'evaluateClip', 40, 44, { gpus: 1, gpuSeconds: 4 }),
    attempt(wf, 'analyzeSweepResults', 55, 57),
  ];
}

function fold(records: UsageRecord[], prices: typeof PRICES | null, until = T0 + 60_000): SweepCost {
  const agg = new CostAggregator('sweep-agg');
  for (const r of records) agg.add(r);
  return agg.finish({ prices, since: T0, until, records: { read: records.length, skipped: 0, truncated: false, problems: [] } });
}

test('workflow ids name the source, task, N and seed of an attempt', () => {
  assert.deepEqual(scopeOfWorkflowId('sweep-x'), { source: null, task: null, size: null, seed: null });
  assert.deepEqual(scopeOfWorkflowId('sweep-x/source/real'), { source: 'real', task: null, size: null, seed: null });
  assert.deepEqual(scopeOfWorkflowId('sweep-x/cell/real/n500/s2'), { source: 'real', task: 'classifier', size: 500, seed: 2 });
  assert.deepEqual(scopeOfWorkflowId('sweep-x/cell/laion/clip/n100/s0'), { source: 'laion', task: 'clip', size: 100, seed: 0 });
  assert.deepEqual(scopeOfWorkflowId('sweep-x/cell/real/odd'), { source: 'real', task: null, size: null, seed: null });
});

test('every activity of every worker has a stage', () => {
  const deps = { store: openStore(tmpdir()), dataDir: tmpdir() };
  const names = [createCpuActivities(deps), createGenerateActivities(deps), createTrainActivities(deps)].flatMap((a) => Object.keys(a));
  assert.deepEqual(names.filter((n) => !(n in STAGE_OF_ACTIVITY)), []);
});

test('overlapping attempts: stage spans are wall time, activity time is summed, and the two are kept apart', () => {
  const cost = fold(sweepRecords('sweep-agg'), null);
  const stage = (name: string) => cost.stages.find((s) => s.stage === name)!;
  assert.deepEqual(cost.stages.map((s) => s.stage), ['plan', 'generate', 'train', 'evaluate', 'analyze'], 'pipeline order');
  assert.equal(stage('generate').wall.seconds, 15, 'two 10 s shards overlapping by 5 s span 15 s');
  assert.equal(stage('generate').activitySeconds, 20, 'and sum to 20 s of activity');
  assert.equal(stage('generate').imagesPerSecond, 10);
  assert.equal(cost.wall.seconds, 60, 'the sweep elapsed from its start to the report');
  assert.equal(cost.totals.activitySeconds, 2 + 10 + 10 + 10 + 20 + 4 + 2);
  const spans = cost.stages.reduce((s, x) => s + x.wall.seconds, 0);
  assert.equal(cost.totals.activitySeconds, cost.stages.reduce((s, x) => s + x.activitySeconds, 0), 'activity time adds up over stages');
  assert.ok(spans <= cost.totals.activitySeconds && cost.wall.seconds <= spans + 60, `spans ${spans} s, activity ${cost.totals.activitySeconds} s`);
  assert.equal(cost.totals.costUsd, null, 'no prices, no money');
});

test('failed and retried attempts are counted: they used the machines', () => {
  const cost = fold(sweepRecords('sweep-agg'), null);
  const train = cost.stages.find((s) => s.stage === 'train')!;
  assert.deepEqual([train.attempts, train.failedAttempts, train.activitySeconds, train.cpuSeconds], [2, 1, 30, 28]);
  assert.equal(train.wall.seconds, 32, 'the span runs from the failed attempt to the retry\'s end');
  assert.equal(train.stepsPerSecond, 2, 'throughput over the attempt that did the steps');
  assert.equal(cost.totals.failedAttempts, 1);
});

test('cost = CPU-hours x CPU price + GPU-hours x GPU price, per stage, per source and in total', () => {
  const cost = fold(sweepRecords('sweep-agg'), PRICES);
  const cpu = cost.totals.cpuSeconds;
  assert.equal(cost.totals.gpuSeconds, 4);
  assert.ok(Math.abs(cost.totals.costUsd! - ((cpu / 3600) * 0.05 + (4 / 3600) * 2.5)) < 1e-12);
  const sum = (xs: { costUsd: number | null }[]) => xs.reduce((s, x) => s + x.costUsd!, 0);
  assert.ok(Math.abs(sum(cost.stages) - cost.totals.costUsd!) < 1e-12, 'stages add up to the total');
  assert.ok(Math.abs(sum(cost.sources) + cost.sweepLevel.costUsd! - cost.totals.costUsd!) < 1e-12, 'sources plus the sweep level add up to the total');
  const synth = cost.sources.find((s) => s.source === 'synth')!;
  assert.deepEqual(synth.sizes.map((z) => [z.size, z.attempts]), [[100, 2]]);
  assert.equal(costUsd(3600, 3600, PRICES), 2.55);
  assert.deepEqual([0, 4e-7, 8.8e-6, 0.0042, 1.255, 12345.6, null].map(formatUsd), ['$0', '<$0.000001', '$0.0000088', '$0.0042', '$1.25', '$12,346', '—']);
  assert.equal(CostPricesSchema.parse({ gpuHourUsd: 2.5 }).cpuHourUsd, 0);
  assert.throws(() => CostPricesSchema.parse({ cpuHourUsd: -1 }), /must be >= 0 US dollars per CPU-hour/);
});

test('the Time section shows wall spans beside summed activity time, with no total of overlapping spans; Cost shows money', () => {
  const cost = fold(sweepRecords('sweep-agg'), PRICES);
  const markdown = toMarkdown(runSections(sweepAnalysis(), { ...META, stageTimings: { 'data:synth': 15, 'data:real': 10, analyze: 2 }, cost }));
  assert.match(markdown, /## Time/);
  assert.match(markdown, /\| stage \| wall span \(overlapping\) \| activity time \(summed\) \| attempts \|/);
  assert.match(markdown, /\| generate \| 15\.0 s \| 20\.0 s \| 2 \|/);
  assert.match(markdown, /\| train \| 32\.0 s \| 30\.0 s \| 2 \(1 failed\) \|/);
  assert.match(markdown, /\| \*\*sweep\*\* \| 1 min 0 s \(elapsed\) \| 58\.0 s \| 7 \(1 failed\) \|/);
  assert.doesNotMatch(markdown, /\*\*total\*\* \| 1 min 0 s/);
  assert.match(markdown, /## Cost/);
  assert.match(markdown, new RegExp(`\\*\\*total\\*\\* \\| 7 \\(1 failed\\) \\| 58\\.0 s \\| ${cost.totals.cpuSeconds.toFixed(1)} \\| 4\\.0 \\|.*\\$0\\.0\\d+ \\|`));
  // Without usage records (workers from before them), the workflow's phases: labelled as overlapping, never summed.
  const old = toMarkdown(runSections(sweepAnalysis(), { ...META, stageTimings: { 'data:synth': 15, 'data:real': 10, analyze: 2 } }));
  assert.match(old, /\| phase \| wall time \(overlapping\) \|/);
  assert.doesNotMatch(old, /total/);
  assert.deepEqual(costSections(undefined), []);
  const unpriced = toMarkdown(costSections(fold(sweepRecords('sweep-agg'), null)));
  assert.match(unpriced, /No prices in the spec/);
  assert.doesNotMatch(unpriced, /\| cost \|/);
});

let dir: string;
let store: BlobStore;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-cost-'));
  store = openStore(dir);
});
after(async () => rm(dir, { recursive: true, force: true }));

test('the report activity folds the sweep\'s usage records into report.json, report.md and report.html', async () => {
  const wf = 'sweep-cost-sweep';
  const now = Date.now();
  // An earlier execution of the same workflow id (a rerun): left out.
  const earlier = sweepRecords(wf).map((r) => ({ ...r, startedAt: r.startedAt - 3_600_000, endedAt: r.endedAt - 3_600_000 }));
  const shifted = (rs: UsageRecord[], by: number) => rs.map((r) => ({ ...r, startedAt: r.startedAt + by, endedAt: r.endedAt + by }));
  const records = shifted([...earlier, ...sweepRecords(wf)], now - 120_000 - T0);
  for (const r of records) await store.put(usageRecordKey(r, 'run-1'), new TextEncoder().encode(JSON.stringify(r)));
  const sources = sweepSources();
  const analysisUri = (await putJson(store, 'analysis/cost-sweep.json', { sweepId: 'cost-sweep', cells: [], sources, analysis: sweepAnalysis(sources) })).uri;
  const stats: SweepStats = {
    imagesSampled: 200, shardsCached: 0, activityRetries: 0, itemRetries: 0, storageRetries: 0, failedItems: 0, corruptRegenerated: 0,
    cellsDone: 2, cellsCached: 0, cellsTotal: 2, trainStepsRun: 40, cellActivityRetries: 1, runs: 1,
  };
  const activities = createReportActivities({ store, dataDir: dir });
  const spec = { ...(META.spec as object), cost: PRICES };
  const out: RenderReportOutput = await new MockActivityEnvironment().run(activities.renderSweepReport, { sweepId: 'cost-sweep', workflowId: wf, analysisUri, spec, stageSeconds: { analyze: 2 }, stats });
  const report = JSON.parse(await readFile(fileURLToPath(out.reportJsonUri), 'utf8'));
  const cost = report.cost as SweepCost;
  assert.equal(report.meta.cost, undefined, 'report.json holds the cost once');
  assert.equal(cost.totals.attempts, 7, 'this execution only');
  assert.equal(cost.totals.failedAttempts, 1);
  assert.deepEqual(cost.prices, PRICES);
  assert.ok(Math.abs(cost.totals.costUsd! - ((cost.totals.cpuSeconds / 3600) * 0.05 + (cost.totals.gpuSeconds / 3600) * 2.5)) < 1e-12);
  assert.ok(cost.wall.seconds >= 119, `elapsed from the plan attempt to now: ${cost.wall.seconds} s`);
  const markdown = await readFile(fileURLToPath(out.reportMarkdownUri), 'utf8');
  const html = await readFile(fileURLToPath(out.reportHtmlUri!), 'utf8');
  for (const page of [markdown, html]) {
    assert.match(page, /wall span \(overlapping\)/);
    assert.match(page, /activity time \(summed\)/);
    assert.match(page, /CPU-seconds/);
    assert.ok(page.includes(`$0.05 per CPU-hour`), 'the prices are stated');
  }
});
