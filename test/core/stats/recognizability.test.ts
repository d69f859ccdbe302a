// Recognizability (activities/analyze/recognizability.ts): per-class fractions from a confusion
// of prompted vs judged labels, and the correlations the report prints.
// Run: node --import tsx --test test/recognizability.test.ts
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { correlate, measureRecognizability } from '../../../core/stats/recognizability.js';

test('per-class fraction = judged as the prompted class / prompted, with the confusion', () => {
  const classes = ['a', 'b', 'c'];
  // a: 3 of 4 recognized (1 judged b); b: 0 of 2 (both judged c); c: 2 of 2; none misjudged as a.
  const prompted = [0, 0, 0, 0, 1, 1, 2, 2];
  const predicted = [0, 0, 1, 0, 2, 2, 2, 2];
  const r = measureRecognizability(prompted, predicted, classes, 0.9);
  assert.deepEqual(r.perClass.map((c) => c.fraction), [0.75, 0, 1]);
  assert.deepEqual(r.perClass.map((c) => [c.prompted, c.recognized]), [[4, 3], [2, 0], [2, 2]]);
  assert.deepEqual(r.confusion, [[3, 1, 0], [0, 0, 2], [0, 0, 2]]);
  assert.equal(r.overall, 5 / 8);
  assert.equal(r.judgeTestAccuracy, 0.9);
  // A class never prompted has no fraction rather than 0.
  assert.equal(measureRecognizability([0], [0], ['a', 'b']).perClass[1]!.fraction, null);
  assert.throws(() => measureRecognizability([0, 1], [0], classes), /2 prompted labels but 1 predictions/);
  assert.throws(() => measureRecognizability([0], [3], classes), /out of range/);
});

test('correlations: exact on constructed data, null when undefined, nulls skipped', () => {
  const x = [0.1, 0.5, 0.9, 0.3, 0.7];
  assert.ok(Math.abs(correlate(x, x.map((v) => 2 * v - 1)).pearson! - 1) < 1e-12);
  assert.ok(Math.abs(correlate(x, x.map((v) => -v)).pearson! + 1) < 1e-12);
  // Monotone but not linear: Spearman 1, Pearson < 1.
  const c = correlate(x, x.map((v) => Math.exp(10 * v)));
  assert.equal(c.spearman, 1);
  assert.ok(c.pearson! < 0.99);
  // Ties get average ranks: x = [1, 2, 2, 3] vs y = [1, 2, 3, 4] -> Spearman of [1, 2.5, 2.5, 4] vs [1, 2, 3, 4].
  const tied = correlate([1, 2, 2, 3], [1, 2, 3, 4]);
  assert.ok(Math.abs(tied.spearman! - 0.9486832980505138) < 1e-12, `${tied.spearman}`);
  assert.deepEqual(correlate([1, 2], [3, 4]), { n: 2, pearson: null, spearman: null });
  assert.equal(correlate([1, 1, 1], [1, 2, 3]).pearson, null);
  assert.equal(correlate([1, null, 2, 3, 4], [2, 5, null, 6, 8]).n, 3);
});
