// A sweep on a production-shaped Temporal cluster (infra/cluster.sh): the server built from its Go
// module, PostgreSQL persistence and SQL visibility, frontend/history/matching/worker as separate
// processes, and workers on two "hosts" (network namespaces on a private link) sharing a gs://
// store through the GCS emulator. One engine fault: kill -9 of the history service mid-sweep,
// then a restart; the sweep completes and the work ledger shows no finished cell redone.
// Needs root (network namespaces; PostgreSQL runs as its own user). Ports: frontend 17233, the
// other services 17234-17241, PostgreSQL 15432, the GCS emulator 10.231.0.1:9323.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LedgerEntry } from '../../core/work-ledger.js';
import { connectClient, startSweep } from '../../cli/client.js';
import { NINE_CELL_SOURCES, tinySweepSpec } from './stack.js';
import { cluster, ledger, netns, pidOf, reason, resultOf, setUpCluster, skip, sleep, tearDownCluster, timings } from './cluster-harness.js';

// The same tiny sweep as test/integration/sweep.test.ts (9 cells), so its time compares with the dev server's.
const spec = tinySweepSpec('it-cluster', { sources: NINE_CELL_SOURCES, sizes: [100, 200, 400] });

before(setUpCluster, { timeout: 1_200_000 });
after(tearDownCluster);

test('a sweep on the cluster with workers on two hosts survives kill -9 of the history service', { skip, timeout: 900_000 }, async () => {
  if (reason) throw new Error(`CI=true, but the cluster cannot run here: ${reason}`);
  const { client, close } = await connectClient();
  try {
    const t0 = Date.now();
    const handle = await startSweep(client, spec);
    const progress = async () => ((await handle.query('progress').catch(() => null)) as { cells: { done: number; total: number } } | null)?.cells;
    for (let p = await progress(); !p || p.done < 2; p = await progress()) {
      if (Date.now() - t0 > 600_000) throw new Error('no two finished cells within 10 minutes');
      await sleep(200);
    }
    // The fault: history dies without a word, mid-sweep; the cells finished so far are the baseline.
    const doneAtKill = (await progress())!;
    assert.ok(doneAtKill.done < doneAtKill.total, `the kill lands mid-sweep (${doneAtKill.done}/${doneAtKill.total} cells done)`);
    const killedAt = Date.now();
    const historyPid = await pidOf('history');
    process.kill(historyPid, 'SIGKILL');
    await sleep(3000);
    const restart = await cluster('service', 'start', 'history');
    const restartedPid = await pidOf('history');
    assert.notEqual(restartedPid, historyPid, `a new history process was started: ${restart.output.trim()}`);
    console.log(`history kill -9 (pid ${historyPid}) at ${doneAtKill.done}/${doneAtKill.total} cells; new history (pid ${restartedPid}) listening ${restart.seconds.toFixed(1)} s after its start`);
    const result = await resultOf(handle);
    const sweepSeconds = (Date.now() - t0) / 1000;
    timings.push(`sweep (9 cells, with the history fault) ${sweepSeconds.toFixed(1)} s`);
    assert.equal(result.cells, 9);
    assert.equal(result.stats.cellsDone, 9);

    // No finished cell redone: a cell whose training had reached its last step before the kill has
    // no entry after it; one mid-training resumed at most one checkpoint interval back, not from 0.
    const steps = ledger().filter((e) => e.kind === 'train-steps');
    const cells = new Map<string, LedgerEntry[]>();
    for (const e of steps) cells.set(e.key, [...(cells.get(e.key) ?? []), e]);
    assert.equal(cells.size, 9, 'each of the 9 cells trained');
    let finishedAtKill = 0;
    for (const [key, entries] of cells) {
      const last = Math.max(...entries.map((e) => e.to));
      const run = entries.reduce((n, e) => n + (e.to - e.from), 0);
      assert.ok(run <= last + 10, `${key}: ${run} steps run for ${last} (at most one checkpoint interval redone)`);
      const before = entries.filter((e) => Date.parse(e.time) < killedAt);
      const later = entries.filter((e) => Date.parse(e.time) >= killedAt);
      if (before.length === 0) continue;
      const reached = Math.max(...before.map((e) => e.to));
      if (reached === last) {
        finishedAtKill++;
        assert.equal(later.length, 0, `${key} finished training before the kill and was not trained again`);
      } else {
        assert.ok(later.every((e) => e.from >= reached - 10), `${key}: resumed near step ${reached}, not redone`);
      }
    }
    assert.ok(finishedAtKill >= 2, `${finishedAtKill} cells had finished training before the kill`);
    // No shard regenerated: the images per shard add up to the shard's size at most once.
    const images = new Map<string, number>();
    for (const e of ledger().filter((x) => x.kind === 'images')) images.set(e.key, (images.get(e.key) ?? 0) + (e.to - e.from));
    for (const [key, n] of images) assert.ok(n <= 150, `${key}: ${n} images generated for a 150-image shard`);

    // The work ran on the hosts: training only on host 2's worker, in another network namespace.
    const trainPid = await pidOf('worker-h2-train');
    assert.deepEqual([...new Set(steps.map((e) => e.pid))], [trainPid], 'every training step ran in the train worker on host 2');
    assert.notEqual(netns(trainPid), netns('self'), 'host 2 is a separate network namespace');
    assert.notEqual(netns(await pidOf('worker-h1-generate')), netns(trainPid), 'hosts 1 and 2 are separate network namespaces');
    assert.ok(result.reportUri.startsWith('gs://'), `the report is in the shared bucket: ${result.reportUri}`);

    // History events per cell: every workflow of the sweep (the sweep, its sources, its cells).
    let events = 0;
    let workflows = 0;
    for await (const wf of client.workflow.list({ query: `SynthscaleSweepId="${spec.sweepId}"` })) {
      events += wf.historyLength;
      workflows++;
    }
    console.log(`history: ${events} events in ${workflows} workflows, ${(events / 9).toFixed(0)} events per cell`);
    console.log(`timings: ${timings.join('; ')}`);
  } finally {
    await close();
  }
});
