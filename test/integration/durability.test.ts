// Fault injection against a real Temporal dev server and real worker processes: killed workers,
// a restarted server, a rerun, and a flaky store and generator. Every test asserts counts read
// from the work ledger, the store and the workflow histories, not just that the sweep finished.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { validateSpec, type SweepSpecInput } from '../../contracts/spec/sweep.js';
import { readLedger, type LedgerEntry } from '../../core/work-ledger.js';
import { connectClient, startSweep } from '../../cli/client.js';
import type { SweepResult } from '../../contracts/sweep.js';
import { startTestStack, type TestStack } from './stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack(7533);
  process.env.TEMPORAL_ADDRESS = stack.env.TEMPORAL_ADDRESS;
});
after(async () => stack?.teardown());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tinySpec(sweepId: string, overrides: Partial<SweepSpecInput>) {
  return validateSpec({
    sweepId,
    dataset: 'fashion-mnist',
    sources: [{ name: 'real', kind: 'real' }],
    sizes: [200],
    seeds: [0],
    training: { hidden: [32], epochs: 2, minSteps: 20, batchSize: 32, checkpointEvery: 10 },
    ...overrides,
  });
}

function ledger(filter: (e: LedgerEntry) => boolean = () => true): LedgerEntry[] {
  return existsSync(stack.ledger) ? readLedger(stack.ledger).filter(filter) : [];
}

const units = (entries: LedgerEntry[]) => entries.reduce((n, e) => n + (e.to - e.from), 0);

async function withSweep<T>(spec: ReturnType<typeof validateSpec>, body: (handle: WorkflowHandle) => Promise<T>): Promise<T> {
  const { client, close } = await connectClient();
  try {
    return await body(await startSweep(client, spec));
  } finally {
    await close();
  }
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('kill -9 of the generate worker mid-shard: the sweep completes, redoing at most one shard', { timeout: 300_000 }, async () => {
  const shardSize = 300;
  const spec = tinySpec('dur-generate-kill', {
    sources: [
      {
        name: 'syn',
        kind: 'synthetic',
        prompts: { strategy: 'classnames' },
        cfgScale: 2,
        // Many DDIM steps make a shard take seconds (parts of about 1 s of sampling, ~80 items), so
        // the kill lands mid-shard.
        generator: { name: 'embedded-gmm', pcaDims: 32, componentsPerClass: 6, steps: 600 },
      },
    ],
    sizes: [300, 600],
    generation: { shardSize, seed: 0, maxConcurrentShards: 1, failureBudget: 0 },
  });
  await withSweep(spec, async (handle) => {
    // Wait until the first shard is partly done and its first part is durable: a chunk is logged
    // when its part starts being written (while the next chunk is sampled), so the ledger alone
    // does not say the part is in the store; its sidecar's checksum file (the file store's commit
    // marker, written last) does.
    await waitFor('a partly generated shard with a committed part', () => {
      const images = ledger((e) => e.kind === 'images' && e.key.endsWith('shard-000000.tar'));
      const first = images[0];
      if (!first || units(images) >= shardSize) return false;
      return existsSync(join(stack.store, `${first.key}.part-000000.json.sha256`));
    });
    const killedAt = Date.now();
    const pid = await stack.killWorker('generate');
    await stack.stack('start-workers');
    const result = (await handle.result()) as SweepResult;
    const images = ledger((e) => e.kind === 'images');
    const ranges = images.map((e) => `${e.key.split('/').pop()}[${e.from},${e.to})#${e.attempt}`).join(' ');
    console.log(`generate kill: parts ${ranges}`);
    const resumed = images.filter((e) => e.attempt > 1 && e.pid !== pid);
    assert.ok(resumed.length > 0, 'a later attempt on the new worker continued the shard');
    const firstResumed = resumed.sort((a, b) => Date.parse(a.time) - Date.parse(b.time))[0]!;
    assert.ok(firstResumed.from > 0, `the retry resumed mid-shard (from ${firstResumed.from}), not from 0`);
    const target = 600;
    const total = units(images);
    assert.ok(total <= target + shardSize, `images generated in total ${total} <= target ${target} + one shard ${shardSize}`);
    const detectSeconds = (Date.parse(firstResumed.time) - killedAt) / 1000;
    console.log(`generate kill: ${total} images generated for ${target} (redone ${total - target}); dead worker detected and work resumed after ${detectSeconds.toFixed(1)} s`);
    assert.ok(detectSeconds < 60, 'a dead worker is noticed within a minute');
    assert.equal(result.stats.imagesSampled <= total, true);
    assert.ok(result.stats.activityRetries >= 1, 'the report counts the retried shard activity');
  });
});

test('kill -9 of the train worker mid-training: the cell resumes from its last checkpoint', { timeout: 300_000 }, async () => {
  const checkpointEvery = 100;
  const spec = tinySpec('dur-train-kill', {
    sizes: [2000],
    training: { hidden: [256], epochs: 1, minSteps: 900, batchSize: 64, checkpointEvery, patience: 0 },
  });
  // Only this sweep's cell: earlier tests trained cells too.
  const earlierKeys = new Set(ledger().map((e) => e.key));
  await withSweep(spec, async (handle) => {
    const steps = () => ledger((e) => e.kind === 'train-steps' && !earlierKeys.has(e.key));
    await waitFor('training past two checkpoints', () => steps().reduce((m, e) => Math.max(m, e.to), 0) >= 2.5 * checkpointEvery);
    const pid = await stack.killWorker('train');
    const reachedBeforeKill = steps().filter((e) => e.pid === pid).reduce((m, e) => Math.max(m, e.to), 0);
    await stack.stack('start-workers');
    const result = (await handle.result()) as SweepResult;
    const all = steps();
    const after = all.filter((e) => e.pid !== pid);
    const resumedFrom = Math.min(...after.map((e) => e.from));
    const totalSteps = 900;
    const run = units(all);
    console.log(`train kill: reached step ${reachedBeforeKill}, resumed from ${resumedFrom}; ${run} steps run for ${totalSteps} (recomputed ${run - totalSteps})`);
    assert.ok(resumedFrom > 0 && resumedFrom % checkpointEvery === 0, `resumed at a checkpoint (${resumedFrom})`);
    assert.ok(run >= totalSteps, `every step was trained: ${run} of ${totalSteps}`);
    assert.ok(run - totalSteps <= checkpointEvery, `steps recomputed ${run - totalSteps} <= one checkpoint interval`);
    assert.equal(result.stats.cellsDone, 1);
    // The cell's record in the store says the finished model came from a resumed attempt.
    const record = JSON.parse(await readFile(join(stack.store, ...all[0]!.key.split('/'), 'train.json'), 'utf8'));
    assert.equal(record.resumedFromStep, resumedFrom);
    assert.ok(record.attempt >= 2);
    assert.ok(result.stats.cellActivityRetries >= 1, 'the report counts the retried training activity');
  });
});

test('kill -9 of the train worker mid-CLIP-cell: the CLIP cell resumes from its last checkpoint', { timeout: 300_000 }, async () => {
  const checkpointEvery = 100;
  const totalSteps = 900;
  const spec = tinySpec('dur-clip-kill', {
    sizes: [2000],
    tasks: ['clip'],
    // patience 0: no early stop, so training runs all its steps and the kill lands mid-training
    // (with the default patience it stopped near step 260, sometimes before the kill).
    clip: { hidden: [128], embedDim: 32, tokenWidth: 32, maxTokens: 16, epochs: 1, minSteps: totalSteps, batchSize: 64, checkpointEvery, patience: 0 },
  });
  const earlierKeys = new Set(ledger().map((e) => e.key));
  await withSweep(spec, async (handle) => {
    const steps = () => ledger((e) => e.kind === 'train-steps' && !earlierKeys.has(e.key));
    await waitFor('CLIP training past two checkpoints', () => steps().reduce((m, e) => Math.max(m, e.to), 0) >= 2.5 * checkpointEvery);
    const pid = await stack.killWorker('train');
    await stack.stack('start-workers');
    const result = (await handle.result()) as SweepResult;
    const all = steps();
    assert.ok(all[0]!.key.startsWith('cells/clip-'), `a CLIP cell: ${all[0]!.key}`);
    const after = all.filter((e) => e.pid !== pid);
    const resumedFrom = Math.min(...after.map((e) => e.from));
    const run = units(all);
    console.log(`clip kill: resumed from ${resumedFrom}; ${run} steps run for ${totalSteps} (recomputed ${run - totalSteps})`);
    assert.ok(resumedFrom > 0 && resumedFrom % checkpointEvery === 0, `resumed at a checkpoint (${resumedFrom})`);
    assert.ok(run >= totalSteps, `every step was trained: ${run} of ${totalSteps}`);
    assert.ok(run - totalSteps <= checkpointEvery, `steps recomputed ${run - totalSteps} <= one checkpoint interval`);
    const record = JSON.parse(await readFile(join(stack.store, ...all[0]!.key.split('/'), 'train.json'), 'utf8'));
    assert.equal(record.resumedFromStep, resumedFrom);
    assert.ok(record.attempt >= 2);
    assert.equal(result.stats.cellsDone, 1);
  });
});

test('a restarted Temporal server: the sweep completes and no finished cell is rerun', { timeout: 300_000 }, async () => {
  const spec = tinySpec('dur-server-restart', {
    sizes: [200, 400, 800],
    seeds: [0, 1],
    training: { hidden: [64], epochs: 1, minSteps: 150, batchSize: 32, checkpointEvery: 50 },
    maxConcurrentCells: 1,
  });
  const earlierKeys = new Set(ledger().map((e) => e.key));
  await withSweep(spec, async (handle) => {
    await waitFor('two finished cells', async () => {
      try {
        const p = (await handle.query('progress')) as { cells: { done: number } };
        return p.cells.done >= 2;
      } catch {
        return false;
      }
    });
    await stack.stack('stop-server');
    await sleep(2000);
    await stack.stack('start-server');
    const result = (await handle.result()) as SweepResult;
    const cellsTrained = new Map<string, number>();
    for (const e of ledger((x) => x.kind === 'train-steps' && !earlierKeys.has(x.key))) cellsTrained.set(e.key, (cellsTrained.get(e.key) ?? 0) + (e.to - e.from));
    assert.equal(result.stats.cellsDone, 6);
    assert.equal(cellsTrained.size, 6, 'each cell trained once');
    for (const [key, steps] of cellsTrained) assert.ok(steps <= 150 + 50, `${key}: ${steps} steps for 150 (none rerun beyond one checkpoint)`);
  });
});

test('rerunning a finished sweep does no work and says so in its report', { timeout: 300_000 }, async () => {
  const spec = tinySpec('dur-rerun', {
    sources: [
      { name: 'real', kind: 'real' },
      { name: 'syn', kind: 'synthetic', prompts: { strategy: 'classnames' }, cfgScale: 2, generator: { name: 'embedded-gmm', pcaDims: 16, componentsPerClass: 3, steps: 10 } },
    ],
    sizes: [100, 200],
    seeds: [0, 1],
  });
  const first = await withSweep(spec, async (handle) => (await handle.result()) as SweepResult);
  assert.equal(first.cachedCells, 0);
  const workBefore = ledger().length;
  const t0 = Date.now();
  const second = await withSweep(spec, async (handle) => (await handle.result()) as SweepResult);
  const seconds = (Date.now() - t0) / 1000;
  console.log(`rerun of a finished 8-cell sweep: ${seconds.toFixed(1)} s, ${ledger().length - workBefore} ledger entries`);
  assert.equal(ledger().length, workBefore, 'no images sampled, no steps trained, no generator fitted');
  assert.equal(second.cachedCells, second.cells);
  assert.equal(second.stats.imagesSampled, 0);
  assert.equal(second.stats.trainStepsRun, 0);
  assert.ok(seconds < 60, `rerun took ${seconds} s`);
  const markdown = await readFile(fileURLToPath(second.reportMarkdownUri), 'utf8');
  assert.match(markdown, /All 8 cells came from the cache/);

  // Another sweep that names the same data sources differently shares their shards and cells.
  const renamed = tinySpec('dur-rerun-renamed', {
    ...spec,
    sources: spec.sources.map((s) => ({ ...s, name: `${s.name}-again` })),
  });
  const third = await withSweep(renamed, async (handle) => (await handle.result()) as SweepResult);
  assert.equal(ledger().length, workBefore, 'the renamed sweep reused every artifact');
  assert.equal(third.cachedCells, third.cells);
  assert.equal(third.stats.shardsCached, 1, 'the synthetic source\'s shard was reused');
});

test('pause stops new cells, resume continues, cancel stops training at a heartbeat and keeps finished cells', { timeout: 300_000 }, async () => {
  const spec = tinySpec('dur-control', {
    sizes: [500, 1000, 2000],
    seeds: [0, 1],
    training: { hidden: [128], epochs: 1, minSteps: 400, batchSize: 64, checkpointEvery: 50 },
    maxConcurrentCells: 1,
  });
  type Progress = { paused: boolean; cells: { done: number; running: number } };
  await withSweep(spec, async (handle) => {
    const progress = async () => (await handle.query('progress')) as Progress;
    await waitFor('one finished cell', async () => (await progress().catch(() => null))?.cells.done === 1);
    console.log('control: one cell done, pausing');
    await handle.signal('pause');
    // The running cell finishes; no new one starts while paused.
    await waitFor('the running cell to drain', async () => (await progress()).cells.running === 0);
    const pausedAt = (await progress()).cells.done;
    await sleep(3000);
    assert.equal((await progress()).cells.done, pausedAt, 'no cell finished while paused');
    assert.equal((await progress()).cells.running, 0, 'no cell started while paused');
    console.log(`control: paused with ${pausedAt} cells done, resuming`);
    await handle.signal('resume');
    const trainedKeys = () => new Set(ledger((e) => e.kind === 'train-steps').map((e) => e.key));
    const keysBefore = trainedKeys().size;
    await waitFor('training to resume', () => trainedKeys().size > keysBefore);
    await sleep(500);
    console.log('control: training resumed, cancelling');
    await handle.cancel();
    const cancelledAt = Date.now();
    await assert.rejects(handle.result(), /cancel/i);
    const description = await handle.describe();
    assert.equal(description.status.name, 'CANCELLED');
    // The training activity saw the cancellation at a heartbeat and stopped.
    await sleep(2000);
    const last = Math.max(...ledger((e) => e.kind === 'train-steps').map((e) => Date.parse(e.time)));
    console.log(`cancel: training stopped ${((last - cancelledAt) / 1000).toFixed(1)} s after the cancel request`);
    assert.ok(last - cancelledAt < 10_000, 'training stopped within seconds of the cancel');
    const rerunStart = Date.now();
    console.log('control: cancelled, rerunning');
    // Rerunning the same sweep id resumes: the cells finished before the cancel come from the store.
    const rerun = await withSweep(spec, async (h) => (await h.result()) as SweepResult);
    assert.ok(rerun.cachedCells >= pausedAt, `${rerun.cachedCells} cells reused, ${pausedAt} were finished before the cancel`);
    assert.equal(rerun.stats.cellsDone, 6);
    const redone = ledger((e) => e.kind === 'train-steps' && Date.parse(e.time) >= rerunStart);
    assert.ok(new Set(redone.map((e) => e.key)).size <= 6 - pausedAt, 'finished cells were not retrained');
  });
});

test('a flaky store and generator (30% transient failures, some hangs): the sweep completes, counting retries and failed items', { timeout: 300_000 }, async () => {
  const faults = {
    storageWriteFailRate: 0.3,
    storageHangRate: 0.03,
    generateFailRate: 0.3,
    generateHangRate: 0.02,
    hangMs: 3000,
    seed: 11,
    alwaysFailPromptIndices: [5],
  };
  await stack.stack('stop-workers');
  await stack.stack('start-workers', {
    SYNTHSCALE_FAULTS: JSON.stringify(faults),
    SYNTHSCALE_STORAGE_TIMEOUT_MS: '1000',
    SYNTHSCALE_GENERATE_ITEM_TIMEOUT_MS: '1000',
  });
  try {
    const spec = tinySpec('dur-faults', {
      sources: [
        { name: 'real', kind: 'real' },
        { name: 'syn', kind: 'synthetic', prompts: { strategy: 'classnames' }, cfgScale: 2, generator: { name: 'embedded-gmm', pcaDims: 16, componentsPerClass: 3, steps: 10, fitSeed: 3 } },
      ],
      sizes: [100, 200],
      generation: { shardSize: 100, seed: 1, maxConcurrentShards: 2, failureBudget: 0.1 },
    });
    const result = await withSweep(spec, async (handle) => (await handle.result()) as SweepResult);
    const { stats } = result;
    console.log(`faults: ${JSON.stringify(stats)}`);
    assert.equal(stats.cellsDone, 4);
    assert.ok(stats.itemRetries > 0, 'generator calls were retried');
    // Every stage's storage writes are retried and logged; the report's count covers generation's.
    const logs = (await Promise.all(['cpu', 'generate', 'train'].map((q) => readFile(join(stack.home, 'run', `worker-${q}.log`), 'utf8')))).join('\n');
    const retriesLogged = (logs.match(/retrying storage call/g) ?? []).length;
    console.log(`faults: storage retries logged by the workers: ${retriesLogged}`);
    assert.ok(retriesLogged > 0, 'storage writes were retried');
    assert.ok(retriesLogged >= stats.storageRetries, `${retriesLogged} logged >= ${stats.storageRetries} counted`);
    assert.ok(stats.failedItems >= 1, 'the always-failing prompt is a failed item, not a failed sweep');
    const report = JSON.parse(await readFile(fileURLToPath(result.reportUri), 'utf8'));
    const synthetic = report.sources.find((s: { name: string }) => s.name === 'syn');
    const manifest = JSON.parse(await readFile(fileURLToPath(synthetic.manifestUri), 'utf8'));
    const failed = manifest.shards.flatMap((s: { failedItems: { index: number; reason: string }[] }) => s.failedItems);
    assert.ok(failed.some((f: { index: number; reason: string }) => f.index === 5 && /inject/i.test(f.reason)), JSON.stringify(failed));
    assert.ok(manifest.totalSamples >= 200, `${manifest.totalSamples} usable images for N=200`);
    const markdown = await readFile(fileURLToPath(result.reportMarkdownUri), 'utf8');
    assert.match(markdown, new RegExp(`${stats.failedItems} items failed for good`));
    assert.match(markdown, /generator item retries/);
  } finally {
    await stack.stack('stop-workers');
    await stack.stack('start-workers');
  }
});
