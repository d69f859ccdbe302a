// The engine and network faults of issue 19 on the production-shaped cluster (infra/cluster.sh),
// beside cluster.test.ts's kill -9 of history: PostgreSQL restarted mid-sweep, one worker host cut
// off the link for longer than the 30 s heartbeat timeout, and the frontend restarted under a
// running `sweep status --watch`. One cluster for the file; each fault runs its own 9-cell sweep
// (its own seeds, so nothing is a cache hit from the one before), and each time the sweep completes
// and the work ledger shows no finished cell trained again, no shard generated twice, and training
// resumed at most one checkpoint interval back. Needs root; the ports of cluster-harness.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { LedgerEntry } from '../../core/work-ledger.js';
import { connectClient, startSweep } from '../../cli/client.js';
import type { SweepResult } from '../../contracts/sweep.js';
import { NINE_CELL_SOURCES, ROOT, tinySweepSpec } from './stack.js';
import { cluster, clusterHome, ledger, pidOf, reason, resultOf, setUpCluster, skip, sleep, tearDownCluster, timings } from './cluster-harness.js';

const CHECKPOINT_EVERY = 10; // tinySweepSpec's training.checkpointEvery
const HEARTBEAT_TIMEOUT_S = 30; // workflows/proxies.ts: train and generate
const CUT_SECONDS = HEARTBEAT_TIMEOUT_S + 10;

before(setUpCluster, { timeout: 1_200_000 });
after(tearDownCluster);

const sweepSpec = (name: string, seed: number) =>
  tinySweepSpec(`it-cluster-${name}`, {
    sources: NINE_CELL_SOURCES,
    sizes: [100, 200, 400],
    seeds: [seed],
    generation: { shardSize: 150, seed, maxConcurrentShards: 2 },
  });

type Cells = { done: number; total: number };
const progressOf = async (handle: WorkflowHandle) => ((await handle.query('progress').catch(() => null)) as { cells: Cells } | null)?.cells;

/** Waits until `done` cells have finished, and returns the progress then (the fault's baseline). */
async function untilCellsDone(handle: WorkflowHandle, done: number): Promise<Cells> {
  const t0 = Date.now();
  for (let p = await progressOf(handle); ; p = await progressOf(handle)) {
    if (p && p.done >= done) {
      assert.ok(p.done < p.total, `the fault lands mid-sweep (${p.done}/${p.total} cells done)`);
      return p;
    }
    if (Date.now() - t0 > 600_000) throw new Error(`no ${done} finished cells within 10 minutes`);
    await sleep(200);
  }
}

/**
 * The work ledger since the sweep started: every cell trained, none that had finished training
 * before the fault trained again, one mid-training resumed at most one checkpoint interval back,
 * no shard sampled past its size. Returns the checks' numbers for the fault's line.
 */
function checkNoRedo(since: number, faultAt: number, trainPid: number): string {
  const entries = ledger().filter((e) => Date.parse(e.time) >= since);
  const steps = entries.filter((e) => e.kind === 'train-steps');
  const cells = new Map<string, LedgerEntry[]>();
  for (const e of steps) cells.set(e.key, [...(cells.get(e.key) ?? []), e]);
  assert.equal(cells.size, 9, 'each of the 9 cells trained');
  let finishedAtFault = 0;
  let resumed = 0;
  let redoneSteps = 0;
  let unrecordedSteps = 0;
  const resumedDetail: string[] = [];
  for (const [key, list] of cells) {
    const last = Math.max(...list.map((e) => e.to));
    const ran = list.reduce((n, e) => n + (e.to - e.from), 0);
    redoneSteps += Math.max(0, ran - last);
    // An attempt cut off between a checkpoint and its next progress report ran steps it never recorded.
    unrecordedSteps += Math.max(0, last - ran);
    assert.ok(ran <= last + CHECKPOINT_EVERY, `${key}: ${ran} steps run for ${last} (at most one checkpoint interval redone)`);
    const before = list.filter((e) => Date.parse(e.time) < faultAt);
    const later = list.filter((e) => Date.parse(e.time) >= faultAt);
    if (before.length === 0) continue;
    const reached = Math.max(...before.map((e) => e.to));
    if (reached === last) {
      finishedAtFault++;
      assert.equal(later.length, 0, `${key} finished training before the fault and was not trained again`);
    } else {
      resumed++;
      resumedDetail.push(`${key.split('/').slice(-2).join('/')}: ${list.map((e) => `[${e.from},${e.to}) attempt ${e.attempt}`).join(' ')}`);
      assert.ok(later.every((e) => e.from >= reached - CHECKPOINT_EVERY), `${key}: resumed near step ${reached}, not redone`);
    }
  }
  assert.ok(finishedAtFault >= 2, `${finishedAtFault} cells had finished training before the fault`);
  const images = new Map<string, number>();
  for (const e of entries.filter((x) => x.kind === 'images')) images.set(e.key, (images.get(e.key) ?? 0) + (e.to - e.from));
  for (const [key, n] of images) assert.ok(n <= 150, `${key}: ${n} images generated for a 150-image shard`);
  assert.deepEqual([...new Set(steps.map((e) => e.pid))], [trainPid], 'every training step ran in the train worker on host 2');
  const retried = steps.filter((e) => e.attempt > 1).length;
  return `ledger: ${finishedAtFault} cells finished before the fault and not retrained, ${resumed} in training at the fault and continued, ${redoneSteps} steps redone in all (${unrecordedSteps} run by a cut-off attempt but not in the ledger), ${retried} step ranges from retried attempts, ${images.size} shards each generated once${resumedDetail.length ? ` (those cells' step ranges: ${resumedDetail.join('; ')})` : ''}`;
}

/** Activity timeouts and retries the sweep's workflows recorded (from their histories). */
async function activityRetries(client: Awaited<ReturnType<typeof connectClient>>['client'], sweepId: string): Promise<{ line: string; retriedStarts: number }> {
  let timedOut = 0;
  let failed = 0;
  let retriedStarts = 0;
  for await (const wf of client.workflow.list({ query: `SynthscaleSweepId="${sweepId}"` })) {
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    for (const ev of history.events ?? []) {
      if (ev.activityTaskTimedOutEventAttributes) timedOut++;
      if (ev.activityTaskFailedEventAttributes) failed++;
      if ((ev.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) retriedStarts++;
    }
  }
  // Temporal records only an activity's last attempt: an attempt that timed out and was retried
  // shows as a started event with attempt > 1, not as a timed-out event.
  return { line: `${timedOut} activities timed out for good, ${failed} failed, ${retriedStarts} completed on a retry (attempt > 1)`, retriedStarts };
}

/** The Temporal services' logs (they only grow while the cluster is up). */
function serviceLogs(): Promise<string[]> {
  return Promise.all(['history', 'matching', 'frontend', 'worker'].map((s) => readFile(join(clusterHome(), 'run', `${s}.log`), 'utf8').catch(() => '')));
}

/** Starts the fault's sweep, waits for 2 finished cells, runs the fault, and checks the outcome. */
async function sweepThrough(name: string, seed: number, fault: (handle: WorkflowHandle, at: Cells) => Promise<string>, minRetries = 0): Promise<void> {
  const { client, close } = await connectClient();
  try {
    const spec = sweepSpec(name, seed);
    const t0 = Date.now();
    const handle = await startSweep(client, spec);
    const at = await untilCellsDone(handle, 2);
    const faultAt = Date.now();
    const what = await fault(handle, at);
    const result: SweepResult = await resultOf(handle);
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(result.cells, 9);
    assert.equal(result.stats.cellsDone, 9);
    const ledgerLine = checkNoRedo(t0, faultAt, await pidOf('worker-h2-train'));
    timings.push(`sweep with ${name} ${seconds.toFixed(1)} s`);
    const retries = await activityRetries(client, spec.sweepId);
    console.log(`${name}: at ${at.done}/${at.total} cells ${((faultAt - t0) / 1000).toFixed(1)} s into the sweep; ${what}; sweep completed in ${seconds.toFixed(1)} s, ${(((Date.now() - faultAt) / 1000)).toFixed(1)} s after the fault; ${retries.line}; ${ledgerLine}`);
    assert.ok(retries.retriedStarts >= minRetries, `at least ${minRetries} activity retried after the fault (${retries.line})`);
  } finally {
    await close();
  }
}

test('PostgreSQL restarted mid-sweep: the sweep completes, nothing finished redone', { skip, timeout: 600_000 }, async () => {
  if (reason) throw new Error(`CI=true, but the cluster cannot run here: ${reason}`);
  await sweepThrough('postgres-restart', 11, async () => {
    const logsBefore = await serviceLogs();
    const stop = await cluster('postgres', 'stop');
    await sleep(3000);
    const start = await cluster('postgres', 'start');
    await sleep(2000);
    // What the services said about the database while it was away (their logs are at warn level).
    const newLines = (await serviceLogs()).flatMap((log, i) => log.slice(logsBefore[i]!.length).split('\n'));
    const felt = newLines.filter((l) => /15432|refused|sql|persistence/i.test(l)).length;
    assert.match(start.output, /PostgreSQL up/, 'PostgreSQL started again');
    const status = (await cluster('status')).output;
    assert.doesNotMatch(status, /^(frontend|history|matching|worker): stopped/m, `every Temporal service outlived the database restart: ${status}`);
    return `PostgreSQL stopped (fast shutdown, ${stop.seconds.toFixed(1)} s), down 3 s, started again in ${start.seconds.toFixed(1)} s; all 4 services still running, ${felt} warnings about the database in their logs`;
  });
});

test(`worker host 2 cut off the link for ${CUT_SECONDS} s: its activities are retried, the sweep completes`, { skip, timeout: 600_000 }, async () => {
  if (reason) throw new Error(`CI=true, but the cluster cannot run here: ${reason}`);
  await sweepThrough('host-cut', 12, async (handle) => {
    const trainPid = await pidOf('worker-h2-train');
    await cluster('hosts', 'link', '2', 'down');
    const cutAt = Date.now();
    try {
      // The cut is real: from host 2 the frontend does not answer.
      const probe = await cluster('hosts', 'status');
      const reach = await new Promise<number | null>((resolve) => {
        const p = spawn('timeout', ['3', 'ip', 'netns', 'exec', 'syn-host2', 'bash', '-c', 'exec 3<>/dev/tcp/10.231.0.1/17233'], { stdio: 'ignore' });
        p.on('exit', (code) => resolve(code));
      });
      assert.notEqual(reach, 0, `host 2 cannot reach the frontend while cut off (${probe.output.trim().replace(/\n/g, '; ')})`);
      const during = await progressOf(handle);
      await sleep(CUT_SECONDS * 1000 - (Date.now() - cutAt));
      const atRestore = await progressOf(handle);
      await cluster('hosts', 'link', '2', 'up');
      const cutFor = (Date.now() - cutAt) / 1000;
      process.kill(trainPid, 0); // the worker on host 2 outlived the cut (throws if it is gone)
      return `host 2 (train worker pid ${trainPid}) cut off for ${cutFor.toFixed(1)} s (frontend unreachable from it: probe exit ${reach}); cells done ${during?.done ?? '?'} at the cut, ${atRestore?.done ?? '?'} when it came back`;
    } catch (err) {
      await cluster('hosts', 'link', '2', 'up');
      throw err;
    }
  }, 1); // host 2's attempt in flight outlives its heartbeat timeout: the server retries it
});

test('the frontend restarted under `sweep status --watch`: the watch rides it out and exits 0', { skip, timeout: 600_000 }, async () => {
  if (reason) throw new Error(`CI=true, but the cluster cannot run here: ${reason}`);
  await sweepThrough('frontend-restart', 13, async (handle) => {
    const watchStart = Date.now();
    const watch = spawn('node', ['bin/synthscale.js', 'sweep', 'status', handle.workflowId, '--watch'], {
      cwd: ROOT,
      env: { ...process.env, SYNTHSCALE_CLI_BUILD: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
    watch.stdout.on('data', keep);
    watch.stderr.on('data', keep);
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => watch.on('exit', (code) => resolve({ code, at: Date.now() })));
    // The watch is up once it has printed its first progress.
    for (let i = 0; i < 300 && !/\d+\/9/.test(output) && watch.exitCode === null; i++) await sleep(200);
    assert.equal(watch.exitCode, null, `the watch is running before the restart: ${output}`);
    const oldPid = await pidOf('frontend');
    const stop = await cluster('service', 'stop', 'frontend');
    const restartAt = Date.now();
    await sleep(2000);
    const start = await cluster('service', 'start', 'frontend');
    const newPid = await pidOf('frontend');
    assert.notEqual(newPid, oldPid, 'a new frontend process');
    const timeout = setTimeout(() => watch.kill('SIGTERM'), 300_000);
    const { code, at } = await exited;
    clearTimeout(timeout);
    const lastLines = output.trim().split('\n').slice(-4).join(' | ');
    assert.equal(code, 0, `the watch exits 0 when the sweep completes; its output ends: ${lastLines}`);
    return `watch running ${((restartAt - watchStart) / 1000).toFixed(1)} s when the frontend (pid ${oldPid}) was stopped (${stop.seconds.toFixed(1)} s), down 2 s, new frontend (pid ${newPid}) listening ${start.seconds.toFixed(1)} s after its start; the watch exited 0 ${((at - restartAt) / 1000).toFixed(1)} s after the restart; its output ends: ${lastLines}`;
  });
  console.log(`timings: ${timings.join('; ')}`);
});
