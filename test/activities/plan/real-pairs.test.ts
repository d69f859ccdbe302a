// The plan refuses a bad real-pairs shard set before any work, without retries, naming the shard
// and the fix: missing shards, a corrupt shard, fewer pairs than the largest N, a brace range past
// the cap. A good set plans; shards past what the largest N reads are only looked up.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPlanActivities } from '../../../activities/plan/activity.js';
import { checkRealPairsSources } from '../../../activities/plan/real-pairs.js';
import { validateSpec } from '../../../contracts/spec/sweep.js';
import { projectDataDir, type ActivityDeps } from '../../../core/activity-deps.js';
import { openStore } from '../../../core/storage.js';
import { pairShard, rawTar, greyPng, writeShards } from '../../core/shards/check-fixtures.js';

let dir: string;
let deps: ActivityDeps;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plan-real-pairs-'));
  deps = { store: openStore(join(dir, 'store')), dataDir: projectDataDir() };
  await writeShards(join(dir, 'good'), { '00000.tar': await pairShard(0, 30), '00001.tar': await pairShard(1, 30) });
  await writeShards(join(dir, 'gap'), { '00000.tar': await pairShard(0, 30), '00002.tar': await pairShard(2, 30) });
  const cut = await pairShard(1, 30);
  await writeShards(join(dir, 'cut'), { '00000.tar': await pairShard(0, 10), '00001.tar': cut.subarray(0, 5000) });
  const png = greyPng(0);
  await writeShards(join(dir, 'nocaption'), { '00000.tar': await rawTar([{ name: 'a.png', data: png }, { name: 'a.txt', data: 'x' }, { name: 'b.png', data: png }]) });
});
after(() => rm(dir, { recursive: true, force: true }));

const specWith = (shards: string[], sizes = [40]) => ({
  sweepId: 'pairs',
  dataset: 'fashion-mnist',
  tasks: ['classifier', 'clip'],
  sources: [{ name: 'real', kind: 'real' }, { name: 'laion', kind: 'real-pairs', shards }],
  sizes,
  seeds: [0],
});

async function planFailure(shards: string[], sizes?: number[]): Promise<ApplicationFailure> {
  const err = await createPlanActivities(deps)
    .planSweep({ spec: specWith(shards, sizes) })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
  assert.equal(err.nonRetryable, true);
  assert.equal(err.type, 'InvalidInput');
  return err;
}

test('a good set plans, reading only the shards the largest N needs', async () => {
  const plan = await createPlanActivities(deps).planSweep({ spec: specWith([`file://${dir}/good/{00000..00001}.tar`]) });
  assert.equal(plan.spec.sources[1]!.name, 'laion');
  const [check] = await checkRealPairsSources(validateSpec(specWith([`file://${dir}/good/{00000..00001}.tar`], [25])), { concurrency: 1 });
  assert.deepEqual(check, { source: 'laion', shards: 2, shardsRead: 1, samplesCounted: 30, needed: 25 });
});

test('a missing shard fails the plan, naming it and the fix', async () => {
  const err = await planFailure([`file://${dir}/gap/{00000..00002}.tar`]);
  assert.equal(
    err.message,
    `source 'laion' (sources.1.shards): 1 problem in its shards: file://${dir}/gap/00001.tar: does not exist (check the shard list and its {00000..00099} ranges). ` +
      'Fix: list only shards that exist (or upload the missing ones)',
  );
});

test('a corrupt shard and a sample without its caption fail the plan, naming shard and key', async () => {
  const cut = await planFailure([`file://${dir}/cut/{00000..00001}.tar`]);
  assert.match(cut.message, new RegExp(`^source 'laion' \\(sources\\.1\\.shards\\): 1 problem in its shards: file://${dir}/cut/00001\\.tar \\[0000100\\d\\d\\.\\w+\\]: truncated tar: 0000100\\d\\d\\.\\w+ is cut short \\(Unexpected end of data\\)\\. Fix: rewrite or drop the bad shards`));
  const nocaption = await planFailure([`file://${dir}/nocaption/00000.tar`], [10]);
  assert.match(nocaption.message, /nocaption\/00000\.tar \[b\]: image without a caption \(b\.txt\)\. Fix: rewrite or drop the bad shards \(`synthscale shards check <shards>` lists every problem\)$/);
});

test('fewer pairs than the largest N fails the plan with the importer’s words', async () => {
  const err = await planFailure([`file://${dir}/good/{00000..00001}.tar`], [40, 100]);
  assert.equal(err.message, "source 'laion' (sources.1.shards) has 60 usable pairs in its 2 shards, but the sweep needs 100 (its largest size): add shards, or lower sizes");
});

test('a brace range past the cap fails at once, as a spec error naming the field', async () => {
  const t0 = performance.now();
  const err = await createPlanActivities(deps)
    .planSweep({ spec: specWith([`file://${dir}/x/{0..99999999}.tar`]) })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(performance.now() - t0 < 1000);
  assert.ok(err instanceof ApplicationFailure && err.nonRetryable, `expected a non-retryable failure, got ${String(err)}`);
  assert.equal(err.type, 'InvalidSpec');
  assert.match(err.message, /sources\[laion\]\.shards: .*names 100000000 shards, more than 100000 \(the cap on shards per source\); name fewer shards/);
});

test('as an activity, the check heartbeats its progress', async () => {
  const env = new MockActivityEnvironment();
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  await env.run(() => checkRealPairsSources(validateSpec(specWith([`file://${dir}/good/{00000..00001}.tar`], [50]))));
  const shardBytes = (await stat(join(dir, 'good/00000.tar'))).size + (await stat(join(dir, 'good/00001.tar'))).size;
  assert.deepEqual(beats.at(-1), { checkingSource: 'laion', shardsChecked: 2, shards: 2, samples: 60, bytesRead: shardBytes });
});
