// Fidelity and diversity of generated images against real ones, in one fixed feature space (the
// report uses the real-data judge's penultimate layer). Pure and deterministic; each side is
// subsampled (seeded) to at most `maxSamples` points, so the cost is bounded whatever the source.
//  - precision, recall, density, coverage (Naeem et al. 2020): balls around each point of radius
//    its distance to its k-th nearest neighbour in its own set; precision: generated points inside
//    some real ball; recall: real points inside some generated ball; density: real balls holding
//    each generated point, / k; coverage: real balls holding some generated point.
//  - Fréchet distance between Gaussians fitted to each side (FID's formula in this space).
//  - Vendi score (Friedman & Dieng 2023): exp of the entropy of the eigenvalues of K/n, K the
//    cosine-similarity kernel: the effective number of distinct points (m orthogonal ones: m).
import { createRng } from '../rng.js';
import { symmetricEigen } from './symmetric-eigen.js';

export const DIVERSITY_K = 5;
export const DIVERSITY_MAX_SAMPLES = 2000;

/** `count` points of `dim` features, row-major. */
export interface FeatureSet {
  values: ArrayLike<number>;
  count: number;
  dim: number;
}

export interface DiversityMetrics {
  precision: number;
  recall: number;
  density: number;
  coverage: number;
  /** Fréchet distance between the Gaussian fits of the generated and the real features. */
  frechet: number;
  /** Vendi score of the generated features (cosine kernel). */
  vendi: number;
  /** Vendi score of the real features: what the generated one is read against. */
  realVendi: number;
  /**
   * Mean over classes of the Vendi score within a class (generated images by their intended class).
   * Pooled Vendi also counts how far apart the classes are, which guidance increases; within a
   * class it measures the variety CFG trades away.
   */
  classVendi?: number;
  realClassVendi?: number;
  /** Generated points compared (after subsampling). */
  images: number;
  /** Real points compared (after subsampling). */
  realImages: number;
}

export interface DiversityOptions {
  k?: number;
  maxSamples?: number;
  /** Seeds the subsampling of both sides. */
  seed?: string;
  /** Awaited before each step (seconds each on 2,000 points): an activity heartbeats and yields here. */
  beforeStep?: (step: 'neighbours' | 'frechet' | 'vendi') => void | Promise<void>;
}

/** At most `max` of the indices [0, n), drawn without replacement by `seed`, ascending. */
export function subsampleIndices(n: number, max: number, seed: string): Uint32Array {
  const all = Uint32Array.from({ length: n }, (_, i) => i);
  if (n <= max) return all;
  const rng = createRng(seed);
  for (let i = 0; i < max; i++) {
    const j = i + rng.int(n - i);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, max).sort();
}

/** The points `indices` of `set`, as float64. */
export function selectPoints(set: FeatureSet, indices: ArrayLike<number>): FeatureSet {
  const values = new Float64Array(indices.length * set.dim);
  for (let r = 0; r < indices.length; r++) {
    const src = indices[r]! * set.dim;
    for (let c = 0; c < set.dim; c++) values[r * set.dim + c] = set.values[src + c]!;
  }
  return { values, count: indices.length, dim: set.dim };
}

/** All metrics of `generated` against `real` (both at least k + 1 points of the same width). */
export async function diversityMetrics(real: FeatureSet, generated: FeatureSet, opts: DiversityOptions = {}): Promise<DiversityMetrics> {
  const k = opts.k ?? DIVERSITY_K;
  const max = opts.maxSamples ?? DIVERSITY_MAX_SAMPLES;
  const seed = opts.seed ?? 'diversity';
  if (real.dim !== generated.dim) throw new RangeError(`diversity: real features have width ${real.dim}, generated ${generated.dim}`);
  for (const [what, set] of [['real', real], ['generated', generated]] as const) {
    if (set.count <= k) throw new RangeError(`diversity: ${set.count} ${what} points; k = ${k} needs more than ${k}`);
    if (set.values.length < set.count * set.dim) throw new RangeError(`diversity: ${set.values.length} ${what} values for ${set.count}x${set.dim}`);
  }
  const x = selectPoints(real, subsampleIndices(real.count, max, `${seed}|real`));
  const y = selectPoints(generated, subsampleIndices(generated.count, max, `${seed}|generated`));
  await opts.beforeStep?.('neighbours');
  const neighbours = nearestNeighbourMetrics(x, y, k);
  await opts.beforeStep?.('frechet');
  const frechet = frechetDistance(x, y);
  await opts.beforeStep?.('vendi');
  return { ...neighbours, frechet, vendi: vendiScore(y), realVendi: vendiScore(x), images: y.count, realImages: x.count };
}

/** Squared Euclidean distances between every row of `a` and every row of `b` (a.count x b.count). */
function squaredDistances(a: FeatureSet, b: FeatureSet): Float64Array {
  const same = a === b;
  const av = Float64Array.from(a.values);
  const bv = same ? av : Float64Array.from(b.values);
  const out = new Float64Array(a.count * b.count);
  const d = a.dim;
  for (let i = 0; i < a.count; i++) {
    // Distances to itself are symmetric: compute the upper triangle only.
    for (let j = same ? i + 1 : 0; j < b.count; j++) {
      const s = squaredDistance(av, i * d, bv, j * d, d);
      out[i * b.count + j] = s;
      if (same) out[j * b.count + i] = s;
    }
  }
  return out;
}

/** |a[ao..ao+d) − b[bo..bo+d)|², four running sums (~2.5x faster in V8 than one). */
function squaredDistance(a: Float64Array, ao: number, b: Float64Array, bo: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let c = 0;
  for (; c + 3 < d; c += 4) {
    const t0 = a[ao + c]! - b[bo + c]!;
    const t1 = a[ao + c + 1]! - b[bo + c + 1]!;
    const t2 = a[ao + c + 2]! - b[bo + c + 2]!;
    const t3 = a[ao + c + 3]! - b[bo + c + 3]!;
    s0 += t0 * t0;
    s1 += t1 * t1;
    s2 += t2 * t2;
    s3 += t3 * t3;
  }
  for (; c < d; c++) s0 += (a[ao + c]! - b[bo + c]!) ** 2;
  return s0 + s1 + s2 + s3;
}

/** Per point, its squared distance to its k-th nearest other point of the same set. */
function kthNeighbourRadii(set: FeatureSet, k: number): Float64Array {
  const dist = squaredDistances(set, set);
  const n = set.count;
  const radii = new Float64Array(n);
  const smallest = new Float64Array(k + 1);
  for (let i = 0; i < n; i++) {
    // The k + 1 smallest of the row, itself (0) included, in a sorted buffer.
    smallest.fill(Infinity);
    for (let j = 0; j < n; j++) {
      const v = dist[i * n + j]!;
      if (v >= smallest[k]!) continue;
      let p = k;
      while (p > 0 && smallest[p - 1]! > v) {
        smallest[p] = smallest[p - 1]!;
        p--;
      }
      smallest[p] = v;
    }
    radii[i] = smallest[k]!;
  }
  return radii;
}

/** Precision, recall, density and coverage of `generated` y against `real` x; balls are open, as in Naeem et al.'s code. */
export function nearestNeighbourMetrics(x: FeatureSet, y: FeatureSet, k = DIVERSITY_K): Pick<DiversityMetrics, 'precision' | 'recall' | 'density' | 'coverage'> {
  const realRadii = kthNeighbourRadii(x, k);
  const generatedRadii = kthNeighbourRadii(y, k);
  const dist = squaredDistances(y, x); // [generated j, real i]
  const n = x.count;
  const realCovered = new Uint8Array(n);
  const realRecalled = new Uint8Array(n);
  let precise = 0;
  let inBalls = 0;
  for (let j = 0; j < y.count; j++) {
    let hits = 0;
    for (let i = 0; i < n; i++) {
      const v = dist[j * n + i]!;
      if (v < realRadii[i]!) {
        hits++;
        realCovered[i] = 1;
      }
      if (v < generatedRadii[j]!) realRecalled[i] = 1;
    }
    if (hits > 0) precise++;
    inBalls += hits;
  }
  const share = (flags: Uint8Array) => flags.reduce((a, b) => a + b, 0) / n;
  return { precision: precise / y.count, recall: share(realRecalled), density: inBalls / (k * y.count), coverage: share(realCovered) };
}

/** Rows minus their mean, divided by sqrt(n - 1): then AᵀA is the sample covariance. */
function centredScaled(set: FeatureSet): { a: Float64Array; mean: Float64Array } {
  const { count: n, dim: d } = set;
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let c = 0; c < d; c++) mean[c]! += set.values[r * d + c]!;
  for (let c = 0; c < d; c++) mean[c]! /= n;
  const scale = 1 / Math.sqrt(Math.max(1, n - 1));
  const a = new Float64Array(n * d);
  for (let r = 0; r < n; r++) for (let c = 0; c < d; c++) a[r * d + c] = (set.values[r * d + c]! - mean[c]!) * scale;
  return { a, mean };
}

/** AᵀA (cols x cols) of a row-major rows x cols matrix. */
function columnGram(a: Float64Array, rows: number, cols: number): Float64Array {
  const g = new Float64Array(cols * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let i = 0; i < cols; i++) {
      const v = a[o + i]!;
      if (v === 0) continue;
      for (let j = i; j < cols; j++) g[i * cols + j]! += v * a[o + j]!;
    }
  }
  for (let i = 0; i < cols; i++) for (let j = 0; j < i; j++) g[i * cols + j] = g[j * cols + i]!;
  return g;
}

/** A Bᵀ (aRows x bRows) of row-major matrices of `cols` columns. */
function rowProducts(a: Float64Array, aRows: number, b: Float64Array, bRows: number, cols: number): Float64Array {
  const out = new Float64Array(aRows * bRows);
  for (let i = 0; i < aRows; i++) {
    for (let j = 0; j < bRows; j++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += a[i * cols + c]! * b[j * cols + c]!;
      out[i * bRows + j] = s;
    }
  }
  return out;
}

const sumSqrtEigenvalues = (m: Float64Array, n: number) => symmetricEigen(m, n, false).values.reduce((s, v) => s + Math.sqrt(Math.max(0, v)), 0);

/**
 * |μx − μy|² + tr Σx + tr Σy − 2 tr (Σx^½ Σy Σx^½)^½. The last trace is the sum of the square roots
 * of that matrix's eigenvalues, found in the smaller of two spaces with the same nonzero spectrum:
 * features (Σx^½ from Σx's eigendecomposition) or, when wider than the generated set, that set's
 * Gram space ((B Aᵀ)(B Aᵀ)ᵀ, A and B the centred, scaled rows).
 */
export function frechetDistance(x: FeatureSet, y: FeatureSet): number {
  const d = x.dim;
  const cx = centredScaled(x);
  const cy = centredScaled(y);
  let meanTerm = 0;
  for (let c = 0; c < d; c++) meanTerm += (cx.mean[c]! - cy.mean[c]!) ** 2;
  const traces = cx.a.reduce((s, v) => s + v * v, 0) + cy.a.reduce((s, v) => s + v * v, 0);
  let cross: number;
  if (d <= y.count) {
    const rootX = psdSqrt(columnGram(cx.a, x.count, d), d);
    const covY = columnGram(cy.a, y.count, d);
    cross = sumSqrtEigenvalues(symmetrized(rowProducts(rootX, d, rowProducts(rootX, d, covY, d, d), d, d), d), d);
  } else {
    const c = rowProducts(cy.a, y.count, cx.a, x.count, d);
    cross = sumSqrtEigenvalues(rowProducts(c, y.count, c, y.count, x.count), y.count);
  }
  return Math.max(0, meanTerm + traces - 2 * cross);
}

/** (M + Mᵀ) / 2: a product of symmetric matrices, symmetric but for rounding. */
function symmetrized(m: Float64Array, n: number): Float64Array {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const mean = (m[i * n + j]! + m[j * n + i]!) / 2;
      m[i * n + j] = mean;
      m[j * n + i] = mean;
    }
  }
  return m;
}

/** The symmetric square root V diag(√λ) Vᵀ of a symmetric positive semi-definite matrix. */
function psdSqrt(m: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(m, n);
  const scaled = new Float64Array(n * n);
  for (let r = 0; r < n; r++) for (let j = 0; j < n; j++) scaled[r * n + j] = vectors![r * n + j]! * Math.sqrt(Math.sqrt(Math.max(0, values[j]!)));
  // (V diag(λ^¼)) (V diag(λ^¼))ᵀ = V diag(√λ) Vᵀ; rows of `scaled` are its rows.
  return rowProducts(scaled, n, scaled, n, n);
}

/**
 * Vendi score with the cosine kernel. K/n = X̂X̂ᵀ/n (X̂: unit rows) has the nonzero eigenvalues of
 * X̂ᵀX̂/n, so the smaller of the two is decomposed. An all-zero feature vector (a dead ReLU layer)
 * has no direction: it counts as similar to the other zero vectors only (an extra axis of its own).
 */
/** Mean Vendi score within each class (classes with fewer than 2 points are skipped). */
export function classVendiScore(set: FeatureSet, labels: ArrayLike<number>): number {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < set.count; i++) byClass.set(labels[i]!, [...(byClass.get(labels[i]!) ?? []), i]);
  const scores = [...byClass.values()].filter((rows) => rows.length >= 2).map((rows) => vendiScore(selectPoints(set, rows)));
  return scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : Number.NaN;
}

export function vendiScore(set: FeatureSet): number {
  const { count: n, dim } = set;
  const d = dim + 1;
  const unit = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    let norm = 0;
    for (let c = 0; c < dim; c++) norm += set.values[r * dim + c]! ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) unit[r * d + dim] = 1;
    else for (let c = 0; c < dim; c++) unit[r * d + c] = set.values[r * dim + c]! / norm;
  }
  const kernel = d <= n ? columnGram(unit, n, d) : rowProducts(unit, n, unit, n, d);
  const { values } = symmetricEigen(kernel, Math.min(d, n), false);
  let entropy = 0;
  for (const v of values) {
    const p = v / n;
    if (p > 1e-12) entropy -= p * Math.log(p);
  }
  return Math.exp(entropy);
}
