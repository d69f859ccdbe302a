// Diversity metrics (core/stats/diversity.ts) and the symmetric eigensolver under them: hand-computed
// nearest-neighbour balls, identical / collapsed / shifted sets, the Fréchet distance's closed forms and
// an independent (mathjs) reference, Vendi scores of known effective sizes.
// Run: node --import tsx --test test/core/stats/diversity.test.ts
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eigs } from 'mathjs';
import { createRng } from '../../../core/rng.js';
import { diversityMetrics, frechetDistance, nearestNeighbourMetrics, subsampleIndices, vendiScore, type FeatureSet } from '../../../core/stats/diversity.js';
import { symmetricEigen } from '../../../core/stats/symmetric-eigen.js';

const close = (actual: number, expected: number, tol: number, what = '') => assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} != ${expected} (tol ${tol})`);

function gaussian(count: number, dim: number, seed: string, shift: number[] = []): FeatureSet {
  const rng = createRng(seed);
  const values = Float64Array.from({ length: count * dim }, (_, i) => rng.normal() + (shift[i % dim] ?? 0));
  return { values, count, dim };
}

const shifted = (set: FeatureSet, delta: number[]): FeatureSet => ({ ...set, values: Float64Array.from(set.values as Float64Array, (v, i) => v + delta[i % set.dim]!) });

describe('symmetricEigen', () => {
  test('reconstructs a random symmetric matrix and agrees with mathjs', () => {
    const n = 12;
    const rng = createRng('eig');
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rng.normal();
    const { values, vectors } = symmetricEigen(a, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += vectors![i * n + k]! * values[k]! * vectors![j * n + k]!;
        close(s, a[i * n + j]!, 1e-12, `A[${i},${j}]`);
      }
    }
    const reference = (eigs(Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n)))).values as number[]).slice().sort((x, y) => x - y);
    reference.forEach((v, i) => close(values[i]!, v, 1e-10, `eigenvalue ${i}`));
    assert.deepEqual(symmetricEigen(a, n, false).values, values, 'values alone are the same');
    assert.ok(values.every((v, i) => i === 0 || v >= values[i - 1]!), 'ascending');
  });
});

describe('nearest-neighbour metrics (Naeem et al. 2020)', () => {
  test('hand-computed one-dimensional example, k = 1', () => {
    // Real 0..3: each ball has radius 1 (open). Generated 0.5 lies in the balls of 0 and 1; 10 and
    // 10.2 in none. The generated radii: 9.5 for 0.5 (its nearest is 10), 0.2 for the other two.
    const real = { values: [0, 1, 2, 3], count: 4, dim: 1 };
    const generated = { values: [0.5, 10, 10.2], count: 3, dim: 1 };
    const m = nearestNeighbourMetrics(real, generated, 1);
    close(m.precision, 1 / 3, 1e-15, 'precision');
    close(m.density, 2 / 3, 1e-15, 'density');
    close(m.coverage, 2 / 4, 1e-15, 'coverage');
    close(m.recall, 1, 1e-15, 'recall: the ball of 0.5 (radius 9.5) holds every real point');
  });

  test('identical sets: precision, recall, coverage 1, density about 1, Fréchet distance 0', async () => {
    const real = gaussian(400, 8, 'same');
    const m = await diversityMetrics(real, { ...real, values: Float64Array.from(real.values as Float64Array) });
    assert.equal(m.precision, 1);
    assert.equal(m.recall, 1);
    assert.equal(m.coverage, 1);
    close(m.density, 1, 0.15, 'density');
    close(m.frechet, 0, 1e-9, 'frechet');
    close(m.vendi, m.realVendi, 1e-9, 'vendi');
  });

  test('a set collapsed onto five points: low recall and coverage, Vendi about 5', async () => {
    const real = gaussian(500, 64, 'real');
    const distinct = gaussian(5, 64, 'modes');
    const collapsed = { values: Float64Array.from({ length: 500 * 64 }, (_, i) => (distinct.values as Float64Array)[(Math.floor(i / 64) % 5) * 64 + (i % 64)]!), count: 500, dim: 64 };
    const m = await diversityMetrics(real, collapsed);
    assert.ok(m.recall < 0.05, `recall ${m.recall}`);
    assert.ok(m.coverage < 0.05, `coverage ${m.coverage}`);
    assert.ok(m.vendi > 4 && m.vendi < 5.0001, `vendi ${m.vendi} (5 nearly orthogonal directions)`);
    assert.ok(m.realVendi > 50, `real vendi ${m.realVendi}`);
  });

  test('a far-shifted set is neither precise nor covering', () => {
    const real = gaussian(300, 4, 'a');
    const m = nearestNeighbourMetrics(real, shifted(gaussian(300, 4, 'b'), [20, 0, 0, 0]));
    assert.deepEqual([m.precision, m.density, m.coverage, m.recall], [0, 0, 0, 0]);
  });
});

describe('frechetDistance', () => {
  test('a shift δ of the same points adds exactly |δ|², in the feature space and in the Gram space', () => {
    // d = 6 <= 200 points: the feature-space path; d = 40 > 30 points: the Gram-space path.
    for (const [count, dim] of [[200, 6], [30, 40]] as const) {
      const x = gaussian(count, dim, `fd-${dim}`);
      let previous = -1;
      for (const step of [0.5, 1, 2, 4]) {
        const delta = Array.from({ length: dim }, (_, c) => (c % 2 ? step : -step / 2));
        const fd = frechetDistance(x, shifted(x, delta));
        const expected = delta.reduce((s, v) => s + v * v, 0);
        close(fd, expected, 1e-8 * Math.max(1, expected), `d=${dim} shift ${step}`);
        assert.ok(fd > previous, 'grows with the shift');
        previous = fd;
      }
    }
  });

  test('one dimension: (μx − μy)² + (σx − σy)² with sample moments', () => {
    const x = { values: [1, 2, 4, 7], count: 4, dim: 1 };
    const y = { values: [0, 3, 3, 10, 14], count: 5, dim: 1 };
    const moments = (v: number[]) => {
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      return { mean, sd: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) };
    };
    const [mx, my] = [moments(x.values), moments(y.values)];
    close(frechetDistance(x, y), (mx.mean - my.mean) ** 2 + (mx.sd - my.sd) ** 2, 1e-10);
  });

  test('agrees with a mathjs reference on correlated features, in both spaces', () => {
    for (const [count, dim] of [[60, 5], [12, 20]] as const) {
      const x = gaussian(count, dim, `ref-x-${dim}`);
      const raw = gaussian(count + 3, dim, `ref-y-${dim}`);
      // Correlate y's features so the covariances do not commute.
      const y = { ...raw, values: Float64Array.from(raw.values as Float64Array, (v, i) => v + 0.8 * (raw.values as Float64Array)[i - (i % dim)]! + 0.3) };
      close(frechetDistance(x, y), referenceFrechet(x, y), 1e-7);
    }
  });
});

/** FID's formula with mathjs: covariances, then eigendecompositions of Σx and of Σx^½ Σy Σx^½. */
function referenceFrechet(x: FeatureSet, y: FeatureSet): number {
  const stats = (s: FeatureSet) => {
    const rows = Array.from({ length: s.count }, (_, r) => Array.from({ length: s.dim }, (_, c) => s.values[r * s.dim + c]!));
    const mean = Array.from({ length: s.dim }, (_, c) => rows.reduce((a, row) => a + row[c]!, 0) / s.count);
    const cov = mean.map((_, i) => mean.map((_, j) => rows.reduce((a, row) => a + (row[i]! - mean[i]!) * (row[j]! - mean[j]!), 0) / (s.count - 1)));
    return { mean, cov };
  };
  const mul = (a: number[][], b: number[][]) => a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
  const sx = stats(x);
  const sy = stats(y);
  const { eigenvectors } = eigs(sx.cov) as unknown as { eigenvectors: { value: number; vector: number[] }[] };
  const root = sx.cov.map((_, i) => sx.cov.map((_, j) => eigenvectors.reduce((s, e) => s + Math.sqrt(Math.max(0, e.value)) * e.vector[i]! * e.vector[j]!, 0)));
  const inner = mul(mul(root, sy.cov), root);
  const crossTrace = (eigs(inner.map((row, i) => row.map((v, j) => (v + inner[j]![i]!) / 2))).values as number[]).reduce((s, v) => s + Math.sqrt(Math.max(0, v)), 0);
  const trace = (m: number[][]) => m.reduce((s, row, i) => s + row[i]!, 0);
  return sx.mean.reduce((s, v, i) => s + (v - sy.mean[i]!) ** 2, 0) + trace(sx.cov) + trace(sy.cov) - 2 * crossTrace;
}

describe('vendiScore', () => {
  test('m orthogonal directions, equally often: exactly m; one point repeated: 1', () => {
    for (const m of [1, 3, 7]) {
      const count = 7 * m;
      const dim = 10;
      const values = new Float64Array(count * dim);
      for (let r = 0; r < count; r++) values[r * dim + (r % m)] = 1 + r; // lengths differ: cosine ignores them
      close(vendiScore({ values, count, dim }), m, 1e-9, `m=${m}`);
    }
  });

  test('zero vectors count as one more direction; wide features take the Gram path', () => {
    const values = new Float64Array(4 * 3);
    values[0] = 1; // rows: e0, 0, e0, 0 -> two equally weighted directions
    values[6] = 2;
    close(vendiScore({ values, count: 4, dim: 3 }), 2, 1e-9);
    const wide = gaussian(20, 500, 'wide'); // 500 > 20 points: nearly orthogonal, Vendi close to 20
    const v = vendiScore(wide);
    assert.ok(v > 18 && v <= 20 + 1e-9, `vendi ${v}`);
  });
});

describe('subsampling', () => {
  test('seeded, without replacement, ascending, and applied by diversityMetrics', async () => {
    const a = subsampleIndices(1000, 50, 's');
    assert.deepEqual(a, subsampleIndices(1000, 50, 's'));
    assert.notDeepEqual(a, subsampleIndices(1000, 50, 't'));
    assert.equal(new Set(a).size, 50);
    assert.ok(a.every((v, i) => v < 1000 && (i === 0 || v > a[i - 1]!)));
    assert.equal(subsampleIndices(10, 50, 's').length, 10);
    const m = await diversityMetrics(gaussian(300, 3, 'r'), gaussian(120, 3, 'g'), { maxSamples: 100 });
    assert.deepEqual([m.realImages, m.images], [100, 100]);
    assert.deepEqual(m, await diversityMetrics(gaussian(300, 3, 'r'), gaussian(120, 3, 'g'), { maxSamples: 100 }), 'deterministic');
  });

  test('rejects sets too small for k or of different widths', async () => {
    await assert.rejects(diversityMetrics(gaussian(5, 2, 'a'), gaussian(50, 2, 'b')), /k = 5/);
    await assert.rejects(diversityMetrics(gaussian(50, 2, 'a'), gaussian(50, 3, 'b')), /width/);
  });
});

test('within-class Vendi sees the variety inside classes that pooled Vendi mixes with class separation', async () => {
  const { classVendiScore, vendiScore } = await import('../../../core/stats/diversity.js');
  // Two classes along orthogonal axes: tight within each class (copies), far apart between them.
  const copies = { values: Float64Array.from([1, 0, 1, 0, 0, 1, 0, 1]), count: 4, dim: 2 };
  assert.ok(Math.abs(vendiScore(copies) - 2) < 1e-9, 'pooled: two distinct directions');
  assert.ok(Math.abs(classVendiScore(copies, [0, 0, 1, 1]) - 1) < 1e-9, 'within each class: one image');
});
