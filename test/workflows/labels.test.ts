// What the Temporal UI shows of a sweep: child and activity labels, the sweep's progress markdown
// with its live slopes, and how a failed sweep's notice is classified. Pure functions, no server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, RetryState } from '@temporalio/common';
import { FAILURE_TYPES } from '../../contracts/failures.js';
import type { SweepProgress } from '../../contracts/sweep.js';
import { cellSummary, oneLine, sourceSummary, summary } from '../../workflows/labels.js';
import { liveSlopes, progressMarkdown } from '../../workflows/sweep/progress.js';
import { failureEvent, failureMessage } from '../../workflows/sweep/notify.js';

test('cells and sources are labelled by what they work on, on one bounded line', () => {
  assert.equal(cellSummary({ source: 'real', task: 'classifier', size: 200, seed: 0 }), 'real · classifier · N=200 · seed 0');
  const syn = sourceSummary({ name: 'syn', kind: 'synthetic', prompts: { strategy: 'classnames' }, cfgScale: 1.5, generator: { name: 'embedded-gmm' } } as never);
  assert.match(syn, /^syn · synthetic · .*CFG 1\.5$/);
  const long = oneLine(`a\n${'x'.repeat(500)}`);
  assert.ok(long.length <= 160 && long.startsWith('a x') && long.endsWith('…'), long);
  assert.deepEqual(summary('train ·  real\n· N=5'), { summary: 'train · real · N=5' });
});

test('live slopes recover the exponent of a power law from per-N mean losses', () => {
  const b = 0.35;
  const bySize = Object.fromEntries([100, 300, 1000, 3000].map((n) => [String(n), { sum: 2 * (4 * n ** -b), cells: 2 }]));
  const [slope] = liveSlopes({ real: bySize, syn: { '100': { sum: 1, cells: 1 } } });
  assert.equal(slope!.curve, 'real');
  assert.ok(Math.abs(slope!.b! - b) < 1e-9, `b ${slope!.b}`);
  assert.equal(slope!.sizes, 4);
  assert.equal(liveSlopes({ syn: { '100': { sum: 1, cells: 1 } } }).length, 0, 'one N gives no slope');
});

test('the progress markdown says how many cells of how many, images, ETA and slopes', () => {
  const progress: SweepProgress = {
    sweepId: 's',
    stage: 'cells',
    paused: false,
    sources: { done: 2, total: 3 },
    images: { done: 1200, total: 3000 },
    cells: { done: 12, running: 2, total: 45, cached: 3 },
    stats: {} as SweepProgress['stats'],
    elapsedSeconds: 600,
    etaSeconds: 1650,
  };
  const md = progressMarkdown(progress, [{ curve: 'real', b: 0.312, from: 'live', sizes: 3 }]);
  assert.match(md, /12 of 45 cells · 2 running · 3 cached/);
  assert.match(md, /images 1200 of 3000/);
  assert.match(md, /ETA 28 min/);
  assert.match(md, /loss slopes b \(live, from finished cells\): real 0\.312 \(3 N\)/);
  assert.doesNotMatch(progressMarkdown({ ...progress, etaSeconds: null }, []), /ETA|slopes/);
});

test('a failed sweep\'s notice names the failure budget when it is anywhere in the cause chain', () => {
  const root = ApplicationFailure.nonRetryable('shard 3: 12 items failed, budget 5', FAILURE_TYPES.failureBudgetExceeded);
  const activity = new ActivityFailure('Activity task failed', 'generateShard', '7', RetryState.NON_RETRYABLE_FAILURE, 'worker', root);
  const child = new ChildWorkflowFailure('default', { workflowId: 'w/source/syn', runId: 'r' }, 'dataSourceWorkflow', RetryState.NON_RETRYABLE_FAILURE, activity);
  assert.equal(failureEvent(child), 'failure-budget-exceeded');
  assert.match(failureMessage(child), /Activity task failed: shard 3: 12 items failed, budget 5$/);
  assert.equal(failureEvent(ApplicationFailure.nonRetryable('sizes.0: must be positive', FAILURE_TYPES.invalidSpec)), 'failed');
  assert.ok(failureMessage(new Error('x'.repeat(5000))).length <= 1000);
});
