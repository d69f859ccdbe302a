// One class's diagonal Gaussian mixture in PCA space: k-means++ seeding, Lloyd iterations, then EM.
import { squaredDistance, weightedSqDist } from './linalg.js';

const KMEANS_ITERATIONS = 20;
const EM_ITERATIONS = 20;
const MIN_COMPONENT_WEIGHT = 1e-4;

export interface DiagonalGmm {
  weights: Float64Array;
  means: Float64Array;
  vars: Float64Array;
}

/** The n rows of X (each D wide) and the K-component mixture being fitted to them. */
interface Fit {
  X: Float64Array;
  n: number;
  D: number;
  K: number;
}

/** k-means++ seeding, Lloyd iterations, then EM for a K-component diagonal GMM of the n rows of X. */
export function fitDiagonalGmm(
  X: Float64Array,
  n: number,
  D: number,
  K: number,
  floor: Float64Array,
  rng: { uniform(): number; int(n: number): number },
): DiagonalGmm {
  const fit: Fit = { X, n, D, K };
  const centers = new Float64Array(K * D);
  const dist = new Float64Array(n).fill(Infinity);
  seedCenters(fit, centers, dist, rng);
  const assign = lloydIterations(fit, centers, dist);
  const mixture = initialMixture(fit, centers, assign, floor);
  emIterations(fit, mixture, floor);
  return mixture;
}

/** k-means++: each next center is a point drawn with probability proportional to its squared distance. */
function seedCenters(fit: Fit, centers: Float64Array, dist: Float64Array, rng: { uniform(): number; int(n: number): number }): void {
  const { X, n, D, K } = fit;
  const sqDist = (i: number, k: number) => squaredDistance(X, i * D, centers, k * D, D);
  let pick = rng.int(n);
  for (let k = 0; k < K; k++) {
    centers.set(X.subarray(pick * D, (pick + 1) * D), k * D);
    if (k === K - 1) break;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const dk = sqDist(i, k);
      if (dk < dist[i]!) dist[i] = dk;
      total += dist[i]!;
    }
    if (total <= 0) {
      pick = rng.int(n);
      continue;
    }
    let target = rng.uniform() * total;
    pick = n - 1;
    for (let i = 0; i < n; i++) {
      target -= dist[i]!;
      if (target < 0) {
        pick = i;
        break;
      }
    }
  }
}

/** Lloyd iterations from the seeded centers; returns each point's cluster (dist: its distance to it). */
function lloydIterations(fit: Fit, centers: Float64Array, dist: Float64Array): Int32Array {
  const { X, n, D, K } = fit;
  const sqDist = (i: number, k: number) => squaredDistance(X, i * D, centers, k * D, D);
  const assign = new Int32Array(n).fill(-1);
  const counts = new Float64Array(K);
  for (let it = 0; it < KMEANS_ITERATIONS; it++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestD = Infinity;
      for (let k = 0; k < K; k++) {
        const dk = sqDist(i, k);
        if (dk < bestD) {
          bestD = dk;
          best = k;
        }
      }
      dist[i] = bestD;
      if (assign[i] !== best) {
        assign[i] = best;
        changed++;
      }
    }
    if (changed === 0 && it > 0) break;
    centers.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const k = assign[i]!;
      counts[k]! += 1;
      const xi = i * D;
      const ck = k * D;
      for (let d = 0; d < D; d++) centers[ck + d]! += X[xi + d]!;
    }
    for (let k = 0; k < K; k++) {
      const ck = k * D;
      if (counts[k]! > 0) {
        for (let d = 0; d < D; d++) centers[ck + d]! /= counts[k]!;
        continue;
      }
      // Empty cluster: move it onto the point farthest from its own center.
      let far = 0;
      for (let i = 1; i < n; i++) if (dist[i]! > dist[far]!) far = i;
      centers.set(X.subarray(far * D, (far + 1) * D), ck);
      dist[far] = 0;
    }
  }
  return assign;
}

/** Initial mixture from the hard clusters. */
function initialMixture(fit: Fit, centers: Float64Array, assign: Int32Array, floor: Float64Array): DiagonalGmm {
  const { X, n, D, K } = fit;
  const weights = new Float64Array(K);
  const means = Float64Array.from(centers);
  const vars = new Float64Array(K * D);
  const counts = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    const k = assign[i]!;
    counts[k]! += 1;
    const xi = i * D;
    const ck = k * D;
    for (let d = 0; d < D; d++) {
      const diff = X[xi + d]! - means[ck + d]!;
      vars[ck + d]! += diff * diff;
    }
  }
  for (let k = 0; k < K; k++) {
    weights[k] = Math.max(counts[k]! / n, MIN_COMPONENT_WEIGHT);
    for (let d = 0; d < D; d++) {
      const ck = k * D + d;
      vars[ck] = Math.max(counts[k]! > 0 ? vars[ck]! / counts[k]! : floor[d]!, floor[d]!);
    }
  }
  normalize(weights);
  return { weights, means, vars };
}

/** EM iterations from the initial mixture, in place (variances floored at `floor`). */
function emIterations(fit: Fit, mixture: DiagonalGmm, floor: Float64Array): void {
  const { X, n, D, K } = fit;
  const { weights, means, vars } = mixture;
  const resp = new Float64Array(K);
  const logNorm = new Float64Array(K);
  const sumR = new Float64Array(K);
  const sumX = new Float64Array(K * D);
  const sumXX = new Float64Array(K * D);
  const invVar = new Float64Array(K * D);
  for (let it = 0; it < EM_ITERATIONS; it++) {
    for (let k = 0; k < K; k++) {
      let logDet = 0;
      for (let d = 0; d < D; d++) {
        logDet += Math.log(vars[k * D + d]!);
        invVar[k * D + d] = 1 / vars[k * D + d]!;
      }
      logNorm[k] = Math.log(weights[k]!) - 0.5 * logDet;
    }
    sumR.fill(0);
    sumX.fill(0);
    sumXX.fill(0);
    for (let i = 0; i < n; i++) {
      const xi = i * D;
      let max = -Infinity;
      for (let k = 0; k < K; k++) {
        const l = logNorm[k]! - 0.5 * weightedSqDist(X, xi, means, k * D, invVar, D);
        resp[k] = l;
        if (l > max) max = l;
      }
      let total = 0;
      for (let k = 0; k < K; k++) {
        const r = Math.exp(resp[k]! - max);
        resp[k] = r;
        total += r;
      }
      for (let k = 0; k < K; k++) {
        const r = resp[k]! / total;
        if (r < 1e-10) continue;
        sumR[k]! += r;
        const ck = k * D;
        for (let d = 0; d < D; d++) {
          const x = X[xi + d]!;
          sumX[ck + d]! += r * x;
          sumXX[ck + d]! += r * x * x;
        }
      }
    }
    for (let k = 0; k < K; k++) {
      const rk = sumR[k]!;
      weights[k] = Math.max(rk / n, MIN_COMPONENT_WEIGHT);
      if (rk < 1e-8) continue; // a dead component keeps its parameters (and a tiny weight)
      const ck = k * D;
      for (let d = 0; d < D; d++) {
        const mu = sumX[ck + d]! / rk;
        means[ck + d] = mu;
        vars[ck + d] = Math.max(sumXX[ck + d]! / rk - mu * mu, floor[d]!);
      }
    }
    normalize(weights);
  }
}

function normalize(w: Float64Array): void {
  let total = 0;
  for (const x of w) total += x;
  for (let i = 0; i < w.length; i++) w[i]! /= total;
}
