// The usage recorder: CPU split among overlapping attempts, record keys and validation, and the
// interceptor writing one record per attempt (completed, failed, retried) through a real FileStore.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { openStore, type BlobStore } from '../../../core/storage.js';
import { CpuShare } from '../../../core/usage/cpu-share.js';
import { countsOf } from '../../../core/usage/counts.js';
import { usageInterceptor } from '../../../core/usage/interceptor.js';
import { parseUsageKey, parseUsageRecord, rootWorkflowId, usagePrefix, usageRecordKey, type UsageRecord } from '../../../core/usage/record.js';
import { forEachUsageRecord } from '../../../core/usage/read.js';

let dir: string;
let store: BlobStore;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-usage-'));
  store = openStore(dir);
});
after(async () => rm(dir, { recursive: true, force: true }));

test('CPU time between events is split evenly among the attempts running then', () => {
  let micros = 0;
  const cpu = new CpuShare(() => micros);
  const a = cpu.begin();
  micros += 2_000_000; // a alone: 2 s
  const b = cpu.begin();
  micros += 4_000_000; // a and b: 2 s each
  assert.equal(cpu.end(a), 4);
  micros += 1_000_000; // b alone
  assert.equal(cpu.end(b), 3);
  micros += 5_000_000; // nobody running: attributed to nobody
  const c = cpu.begin();
  assert.equal(cpu.end(c), 0);
  assert.equal(cpu.active, 0);
});

test('counts come from numeric result fields only', () => {
  assert.deepEqual(countsOf([{ recipe: { batchSize: 32 } }], { stepsRun: 10, cached: false, secret: 'x' }), { steps: 10, images: 320, cached: false });
  assert.deepEqual(countsOf([{}], { imagesSampled: 150, cached: false }), { images: 150, cached: false });
  assert.deepEqual(countsOf([], 'text'), {});
  assert.deepEqual(countsOf([], { stepsRun: -1, imagesSampled: Number.NaN }), {});
});

const record = (over: Partial<UsageRecord> = {}): UsageRecord => ({
  v: 1,
  workflowId: 'sweep-x/cell/real/n100/s0',
  activityType: 'trainClassifier',
  activityId: '3',
  attempt: 1,
  taskQueue: 'train',
  startedAt: 1_700_000_000_000,
  endedAt: 1_700_000_002_000,
  cpuSeconds: 1.5,
  gpus: 0,
  gpuSeconds: 0,
  outcome: 'completed',
  ...over,
});

test('record keys group a sweep under its root workflow id, carry start, type and attempt, and are one per attempt', () => {
  assert.equal(rootWorkflowId('sweep-x/cell/real/n100/s0'), 'sweep-x');
  const key = usageRecordKey(record(), 'run-1');
  assert.match(key, /^usage\/sweep-x\/1700000000000-trainClassifier-a1-[0-9a-f]{16}\.json$/);
  assert.deepEqual(parseUsageKey(key), { startedAt: 1_700_000_000_000, activityType: 'trainClassifier', attempt: 1 });
  assert.equal(usageRecordKey(record(), 'run-1'), key, 'the same attempt writes the same key');
  assert.notEqual(usageRecordKey(record({ attempt: 2 }), 'run-1'), key);
  // A scheduled run's id has ':' in its timestamp: a safe folder plus a hash, still one per sweep.
  const scheduled = usagePrefix('sweep-nightly-2026-12-03T02:00:00Z/source/real');
  assert.match(scheduled, /^usage\/sweep-nightly-2026-12-03T02_00_00Z-[0-9a-f]{12}$/);
  assert.equal(scheduled, usagePrefix('sweep-nightly-2026-12-03T02:00:00Z'));
  assert.equal(parseUsageKey('usage/sweep-x/notes.json'), null);
});

test('records are validated field by field', () => {
  assert.deepEqual(parseUsageRecord(JSON.parse(JSON.stringify(record({ steps: 5 })))), record({ steps: 5 }));
  assert.match(String(parseUsageRecord({ ...record(), cpuSeconds: -1 })), /cpuSeconds/);
  assert.match(String(parseUsageRecord({ ...record(), endedAt: 1 })), /before startedAt/);
  assert.match(String(parseUsageRecord({ ...record(), outcome: 'maybe' })), /outcome/);
  assert.match(String(parseUsageRecord({ ...record(), v: 2 })), /version/);
  assert.match(String(parseUsageRecord([])), /not an object/);
});

test('the interceptor writes one record per attempt: completed with counts, failed, retried; never the payloads', async () => {
  const workflowId = 'sweep-rec/cell/real/n100/s0';
  const info = (attempt: number) => ({ activityType: 'trainClassifier', activityId: '7', attempt, taskQueue: 'train', workflowExecution: { workflowId, runId: 'run-a' } });
  const interceptors = [usageInterceptor({ store, gpus: 2 })];
  const failing = new MockActivityEnvironment(info(1), { interceptors });
  await assert.rejects(
    failing.run(async (_input: unknown) => {
      const until = Date.now() + 30;
      while (Date.now() < until); // burn CPU
      throw new Error('node lost');
    }, { recipe: { batchSize: 16 }, apiKey: 'secret-token' }),
    /node lost/,
  );
  const ok = new MockActivityEnvironment(info(2), { interceptors });
  const out = await ok.run(async (_input: unknown): Promise<{ stepsRun: number; cached: boolean; modelUri: string }> => {
    await new Promise((r) => setTimeout(r, 20));
    return { stepsRun: 12, cached: false, modelUri: 'file:///secret/path' };
  }, { recipe: { batchSize: 16 }, apiKey: 'secret-token' });
  assert.equal((out as { stepsRun: number }).stepsRun, 12, 'the result passes through unchanged');

  const keys = await store.list(`${usagePrefix(workflowId)}/`);
  assert.equal(keys.length, 2);
  const records: UsageRecord[] = [];
  const summary = await forEachUsageRecord(store, workflowId, {}, (r) => records.push(r));
  assert.equal(summary.read, 2);
  const [failed, completed] = records.sort((a, b) => a.attempt - b.attempt) as [UsageRecord, UsageRecord];
  assert.equal(failed.outcome, 'failed');
  assert.equal(failed.steps, undefined, 'a failed attempt reports no counts');
  assert.ok(failed.cpuSeconds > 0.01, `the busy attempt used CPU: ${failed.cpuSeconds}`);
  assert.equal(completed.outcome, 'completed');
  assert.deepEqual([completed.steps, completed.images, completed.cached], [12, 192, false]);
  assert.ok(completed.endedAt - completed.startedAt >= 15);
  assert.equal(completed.gpus, 2);
  assert.ok(Math.abs(completed.gpuSeconds - ((completed.endedAt - completed.startedAt) / 1000) * 2) < 1e-9, 'GPU-seconds = wall x GPUs');
  for (const key of keys) {
    const text = new TextDecoder().decode(await store.get(key));
    assert.ok(!/secret/.test(text), `no payload reaches the record: ${text}`);
  }
});

test('a store that fails does not fail the activity', async () => {
  const broken: BlobStore = { ...store, put: async () => Promise.reject(new Error('bucket gone')) } as BlobStore;
  const env = new MockActivityEnvironment({ workflowExecution: { workflowId: 'sweep-b', runId: 'r' } }, { interceptors: [usageInterceptor({ store: broken, gpus: 0 })] });
  assert.equal(await env.run(async () => 42), 42);
});

test('reading picks the latest execution (from its plan attempt), caps what it reads, and skips malformed records', async () => {
  const wf = 'sweep-reader';
  const put = (r: UsageRecord) => store.put(usageRecordKey(r, 'run'), new TextEncoder().encode(JSON.stringify(r)));
  const at = (t: number, type: string, over: Partial<UsageRecord> = {}) => record({ workflowId: wf, activityType: type, activityId: `${t}`, startedAt: t, endedAt: t + 1000, ...over });
  await put(at(1_000_000, 'planSweep')); // an earlier execution
  await put(at(1_100_000, 'trainClassifier'));
  await put(at(2_000_000, 'planSweep')); // this execution: attempt 1 fails, attempt 2 succeeds
  await put(at(2_001_000, 'planSweep', { attempt: 2, activityId: '2000000' }));
  await put(at(2_100_000, 'trainClassifier'));
  await put(at(2_200_000, 'trainClassifier'));
  await store.put(`${usagePrefix(wf)}/2300000000000-trainClassifier-a1-0123456789abcdef.json`, new TextEncoder().encode('{"v":1}'));
  const seen: number[] = [];
  const summary = await forEachUsageRecord(store, wf, { executionStart: 'planSweep' }, (r) => seen.push(r.startedAt));
  assert.equal(summary.since, 2_000_000);
  assert.deepEqual(seen, [2_000_000, 2_001_000, 2_100_000, 2_200_000]);
  assert.equal(summary.skipped, 1);
  assert.match(summary.problems[0]!, /workflowId/);
  const capped = await forEachUsageRecord(store, wf, { since: 0, maxRecords: 3 }, () => undefined);
  assert.deepEqual([capped.found, capped.read, capped.truncated], [7, 3, true]);
});
