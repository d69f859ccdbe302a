// The embedded text-to-image generator: PCA of the training images, a diagonal Gaussian mixture per
// class in PCA space, and a DDIM sampler (eta = 0) whose denoiser is the closed-form posterior mean
// of that mixture under Gaussian noise. Conditioning is classifier-free guidance between the
// class-weighted mixture and the full (unconditional) mixture. Runs on CPU in plain JS, is
// deterministic given its inputs, and its fitted model serializes to a compact versioned blob.
import { IMAGE_PIXELS } from '../../core/datasets/fashion-mnist.js';
import { createRng, permutation } from '../../core/rng.js';

/** Bump when anything that changes fitted models or samples changes (it keys cached artifacts). */
/** 2: prompt attributes bias the mixture components within a class. */
export { GENERATOR_CODE_VERSION } from '../../contracts/code-versions.js';
import { GENERATOR_CODE_VERSION } from '../../contracts/code-versions.js';
/** Version of the serialized model layout. */
export const GMM_FORMAT_VERSION = 1;

const MAGIC = [0x53, 0x53, 0x47, 0x4d] as const; // "SSGM"
const TRAIN_TIMESTEPS = 1000;
const BETA_START = 1e-4;
const BETA_END = 0.02;
/** Images used to estimate the pixel covariance (all of them are used for the mean and the mixtures). */
const COVARIANCE_SAMPLES = 20000;
const SUBSPACE_ITERATIONS = 16;
const KMEANS_ITERATIONS = 20;
const EM_ITERATIONS = 20;
/** Component variances are floored at this fraction of the global variance along each PCA axis. */
const VARIANCE_FLOOR = 1e-2;
const MIN_COMPONENT_WEIGHT = 1e-4;
/** Mixture components whose responsibility is below this are skipped when forming posterior means. */
const RESPONSIBILITY_EPSILON = 1e-12;

export interface GmmGeneratorModel {
  formatVersion: number;
  codeVersion: string;
  classes: string[];
  /** Pixels per image (784). */
  pixels: number;
  pcaDims: number;
  componentsPerClass: number;
  fitSeed: number;
  /** Training images the model was fitted on. */
  trainCount: number;
  /** Fraction of the pixel variance inside the PCA subspace. */
  explainedVariance: number;
  /** [pixels]: mean image, pixels scaled to [-1, 1]. */
  mean: Float32Array;
  /** [pcaDims * pixels]: row d is the d-th principal direction (unit norm). */
  basis: Float32Array;
  /** [pcaDims]: variance of the training data along each principal direction. */
  eigenvalues: Float32Array;
  /** [classes]: share of each class in the training data. */
  classPrior: Float32Array;
  /** [K]: the class each mixture component belongs to (components are grouped by class). */
  componentClass: Uint16Array;
  /** [K]: weight of each component within its class (sums to 1 per class). */
  componentWeight: Float32Array;
  /** [K * pcaDims]: component means in PCA coordinates. */
  componentMean: Float32Array;
  /** [K * pcaDims]: diagonal component variances in PCA coordinates. */
  componentVar: Float32Array;
}

export interface GmmFitConfig {
  pcaDims: number;
  componentsPerClass: number;
  fitSeed: number;
}

export interface TrainImages {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface SampleOptions {
  /** Weights over model.classes (normalized here), or null for an unconditional sample. */
  classWeights: Float64Array | null;
  /** Classifier-free guidance: 0 = unconditional, 1 = conditional, > 1 = guided. */
  cfgScale: number;
  /** DDIM steps (1..1000), evenly spaced over the 1000 training timesteps. */
  steps: number;
  /** Seeds the initial noise; equal (model, options) give equal bytes. */
  seed: string;
  /**
   * What the prompt says beyond the class (text-condition.ts promptAttributes): each in [-1, 1],
   * tilting the class's mixture components towards lighter/darker, larger/smaller or more/less
   * textured ones. Absent or null: the class's own component weights.
   */
  attributes?: PromptAttributes | null;
}

/** Prompt attributes the embedded generator understands (0 = not mentioned). */
export interface PromptAttributes {
  brightness: number;
  size: number;
  texture: number;
}

export const ATTRIBUTE_NAMES = ['brightness', 'size', 'texture'] as const;
/** Log-weight added per unit of attribute x within-class z-score of the component's feature. */
export const ATTRIBUTE_STRENGTH = 1.5;

export class GmmModelFormatError extends Error {
  readonly code = 'E_GMM_MODEL_FORMAT';
}

// ---------------------------------------------------------------------------------------------
// Fitting

/**
 * Fit the generator: PCA (mean + top `pcaDims` directions of the pixel covariance, pixels in
 * [-1, 1]) and, per class, a `componentsPerClass`-component diagonal Gaussian mixture in PCA space
 * (k-means++ seeded by `fitSeed`, Lloyd iterations, then EM). Deterministic for given data and config.
 * Parameters are rounded to float32, so a serialized model samples exactly like this one.
 */
export function fitGmmGenerator(
  train: TrainImages,
  cfg: GmmFitConfig,
  classes: readonly string[],
  onProgress?: (msg: string) => void,
): GmmGeneratorModel {
  const P = IMAGE_PIXELS;
  const n = train.count;
  const C = classes.length;
  const D = cfg.pcaDims;
  if (!Number.isInteger(n) || n < 2) throw new Error(`fitGmmGenerator: need at least 2 training images, got ${n}`);
  if (train.images.length < n * P) throw new Error(`fitGmmGenerator: ${train.images.length} image bytes for ${n} images of ${P} pixels`);
  if (train.labels.length < n) throw new Error(`fitGmmGenerator: ${train.labels.length} labels for ${n} images`);
  if (C < 1 || C > 65535) throw new Error(`fitGmmGenerator: ${C} classes`);
  if (!Number.isInteger(D) || D < 1 || D > P) throw new Error(`fitGmmGenerator: pcaDims must be an integer in 1..${P}, got ${D}`);
  if (!Number.isInteger(cfg.componentsPerClass) || cfg.componentsPerClass < 1) {
    throw new Error(`fitGmmGenerator: componentsPerClass must be a positive integer, got ${cfg.componentsPerClass}`);
  }
  if (!Number.isInteger(cfg.fitSeed)) throw new Error(`fitGmmGenerator: fitSeed must be an integer, got ${cfg.fitSeed}`);
  const classCounts = new Float64Array(C);
  for (let i = 0; i < n; i++) {
    const label = train.labels[i]!;
    if (label >= C) throw new Error(`fitGmmGenerator: label ${label} of image ${i} is out of range for ${C} classes`);
    classCounts[label]! += 1;
  }
  for (let c = 0; c < C; c++) {
    if (classCounts[c] === 0) throw new Error(`fitGmmGenerator: class "${classes[c]}" has no training images`);
  }
  const progress = onProgress ?? (() => {});
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;

  // Mean over all images, in byte units.
  const meanBytes = new Float64Array(P);
  for (let i = 0; i < n; i++) {
    const off = i * P;
    for (let p = 0; p < P; p++) meanBytes[p]! += train.images[off + p]!;
  }
  for (let p = 0; p < P; p++) meanBytes[p]! /= n;

  // Covariance from a seeded subsample (all images when there are at most COVARIANCE_SAMPLES).
  const nCov = Math.min(n, COVARIANCE_SAMPLES);
  const subsample =
    nCov === n
      ? Uint32Array.from({ length: n }, (_, i) => i)
      : permutation(n, createRng(`gmm-fit|${cfg.fitSeed}|pca-subsample`)).subarray(0, nCov).sort();
  const cov = pixelCovariance(train.images, subsample, P);
  let totalVariance = 0;
  for (let p = 0; p < P; p++) totalVariance += cov[p * P + p]!;
  progress(`covariance of ${nCov} images (${elapsed()})`);

  // Top D eigenpairs by subspace iteration + Rayleigh-Ritz.
  const { values, vectors } = topEigenpairs(cov, P, D, createRng(`gmm-fit|${cfg.fitSeed}|pca-init`));
  const basis = Float32Array.from(vectors);
  const eigenvalues = Float32Array.from(values, (v) => Math.max(v, 0));
  const mean = Float32Array.from(meanBytes, (m) => m / 127.5 - 1);
  let explained = 0;
  for (let d = 0; d < D; d++) explained += eigenvalues[d]!;
  progress(`PCA: ${D} directions hold ${((100 * explained) / totalVariance).toFixed(1)}% of the variance (${elapsed()})`);

  // Project every image with the float32-rounded mean and basis the model will store.
  const Z = projectAll(train.images, n, P, D, mean, basis);
  progress(`projected ${n} images (${elapsed()})`);

  // A diagonal GMM per class.
  const floor = new Float64Array(D);
  for (let d = 0; d < D; d++) floor[d] = Math.max(VARIANCE_FLOOR * eigenvalues[d]!, 1e-8);
  const compClass: number[] = [];
  const compWeight: number[] = [];
  const compMean: number[] = [];
  const compVar: number[] = [];
  for (let c = 0; c < C; c++) {
    const nc = classCounts[c]!;
    const Xc = new Float64Array(nc * D);
    let row = 0;
    for (let i = 0; i < n; i++) {
      if (train.labels[i] !== c) continue;
      Xc.set(Z.subarray(i * D, (i + 1) * D), row * D);
      row++;
    }
    const K = Math.min(cfg.componentsPerClass, nc);
    const gmm = fitDiagonalGmm(Xc, nc, D, K, floor, createRng(`gmm-fit|${cfg.fitSeed}|class|${c}`));
    for (let k = 0; k < K; k++) {
      compClass.push(c);
      compWeight.push(gmm.weights[k]!);
      for (let d = 0; d < D; d++) {
        compMean.push(gmm.means[k * D + d]!);
        compVar.push(gmm.vars[k * D + d]!);
      }
    }
    progress(`class ${c} "${classes[c]}": ${K} components from ${nc} images (${elapsed()})`);
  }

  const model: GmmGeneratorModel = {
    formatVersion: GMM_FORMAT_VERSION,
    codeVersion: GENERATOR_CODE_VERSION,
    classes: [...classes],
    pixels: P,
    pcaDims: D,
    componentsPerClass: cfg.componentsPerClass,
    fitSeed: cfg.fitSeed,
    trainCount: n,
    explainedVariance: Math.fround(Math.min(1, explained / totalVariance)),
    mean,
    basis,
    eigenvalues,
    classPrior: Float32Array.from(classCounts, (x) => x / n),
    componentClass: Uint16Array.from(compClass),
    componentWeight: Float32Array.from(compWeight),
    componentMean: Float32Array.from(compMean),
    componentVar: Float32Array.from(compVar),
  };
  validateGmmModel(model);
  return model;
}

/** Sample covariance (pixels scaled to [-1, 1]) of the given images, as a full P*P matrix. */
function pixelCovariance(images: Uint8Array, which: Uint32Array, P: number): Float64Array {
  // Second moments in byte units are sums of integer products, exact in float64 (< 2^53), so the
  // blocking below cannot change the result. Blocks of B images are laid out pixel-major and
  // multiplied in 4x4 register tiles (rows padded to a multiple of 4 with zeros).
  const B = 128;
  const P4 = Math.ceil(P / 4) * 4;
  const Xb = new Float64Array(P4 * B);
  const S = new Float64Array(P4 * P4);
  const sum = new Float64Array(P);
  for (let start = 0; start < which.length; start += B) {
    const nb = Math.min(B, which.length - start);
    if (nb < B) Xb.fill(0);
    for (let j = 0; j < nb; j++) {
      const off = which[start + j]! * P;
      for (let p = 0; p < P; p++) {
        const v = images[off + p]!;
        Xb[p * B + j] = v;
        sum[p]! += v;
      }
    }
    for (let p = 0; p < P4; p += 4) {
      const a0o = p * B;
      const a1o = a0o + B;
      const a2o = a1o + B;
      const a3o = a2o + B;
      for (let q = p; q < P4; q += 4) {
        const b0o = q * B;
        const b1o = b0o + B;
        const b2o = b1o + B;
        const b3o = b2o + B;
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (let j = 0; j < B; j++) {
          const a0 = Xb[a0o + j]!, a1 = Xb[a1o + j]!, a2 = Xb[a2o + j]!, a3 = Xb[a3o + j]!;
          const b0 = Xb[b0o + j]!, b1 = Xb[b1o + j]!, b2 = Xb[b2o + j]!, b3 = Xb[b3o + j]!;
          c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
          c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
          c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
          c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
        }
        let o = p * P4 + q;
        S[o]! += c00; S[o + 1]! += c01; S[o + 2]! += c02; S[o + 3]! += c03;
        o += P4;
        S[o]! += c10; S[o + 1]! += c11; S[o + 2]! += c12; S[o + 3]! += c13;
        o += P4;
        S[o]! += c20; S[o + 1]! += c21; S[o + 2]! += c22; S[o + 3]! += c23;
        o += P4;
        S[o]! += c30; S[o + 1]! += c31; S[o + 2]! += c32; S[o + 3]! += c33;
      }
    }
  }
  const m = which.length;
  const scale = 1 / (127.5 * 127.5);
  const cov = new Float64Array(P * P);
  for (let i = 0; i < P; i++) {
    const mi = sum[i]! / m;
    for (let j = i; j < P; j++) {
      // Tiles on the diagonal also filled S[j][i] for j > i within the tile; only S[i][j], i <= j, is read.
      const v = (S[i * P4 + j]! / m - mi * (sum[j]! / m)) * scale;
      cov[i * P + j] = v;
      cov[j * P + i] = v;
    }
  }
  return cov;
}

/**
 * Top `k` eigenpairs of the symmetric P*P matrix A: orthogonal (subspace) iteration on an
 * oversampled block, then Rayleigh-Ritz with a Jacobi eigensolver on the small projected matrix.
 * Vectors come back row-major [k * P], unit norm, sign fixed so the largest-magnitude entry is positive.
 */
function topEigenpairs(A: Float64Array, P: number, k: number, rng: { normal(): number }): { values: Float64Array; vectors: Float64Array } {
  const m = Math.min(P, k + Math.max(16, Math.ceil(k / 2)));
  let Q = new Float64Array(m * P);
  for (let i = 0; i < Q.length; i++) Q[i] = rng.normal();
  orthonormalizeRows(Q, m, P, rng);
  let Y = new Float64Array(m * P);
  for (let it = 0; it < SUBSPACE_ITERATIONS; it++) {
    multiplySymmetric(A, P, Q, m, Y);
    orthonormalizeRows(Y, m, P, rng);
    const tmp = Q;
    Q = Y;
    Y = tmp;
  }
  // Rayleigh-Ritz: T = Q A Q^T (m*m), T = W diag(l) W^T, Ritz vectors = W^T Q.
  multiplySymmetric(A, P, Q, m, Y);
  const T = new Float64Array(m * m);
  for (let a = 0; a < m; a++) {
    for (let b = a; b < m; b++) {
      let s = 0;
      const qa = a * P;
      const yb = b * P;
      for (let p = 0; p < P; p++) s += Q[qa + p]! * Y[yb + p]!;
      T[a * m + b] = s;
      T[b * m + a] = s;
    }
  }
  const { values, vectors: W } = jacobiEigen(T, m);
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => values[b]! - values[a]! || a - b);
  const outValues = new Float64Array(k);
  const outVectors = new Float64Array(k * P);
  for (let r = 0; r < k; r++) {
    const col = order[r]!;
    outValues[r] = values[col]!;
    const off = r * P;
    for (let j = 0; j < m; j++) {
      const w = W[j * m + col]!;
      if (w === 0) continue;
      const qj = j * P;
      for (let p = 0; p < P; p++) outVectors[off + p]! += w * Q[qj + p]!;
    }
    let norm = 0;
    let big = 0;
    for (let p = 0; p < P; p++) {
      const v = outVectors[off + p]!;
      norm += v * v;
      if (Math.abs(v) > Math.abs(big)) big = v;
    }
    const scale = (big < 0 ? -1 : 1) / Math.sqrt(norm);
    for (let p = 0; p < P; p++) outVectors[off + p]! *= scale;
  }
  return { values: outValues, vectors: outVectors };
}

/** out[j] = A q[j] for each of the m rows of Q (A symmetric P*P, row-major); 2x4 register tiles. */
function multiplySymmetric(A: Float64Array, P: number, Q: Float64Array, m: number, out: Float64Array): void {
  const dot = (ai: number, qj: number) => {
    let s0 = 0;
    let s1 = 0;
    let p = 0;
    for (; p + 1 < P; p += 2) {
      s0 += A[ai + p]! * Q[qj + p]!;
      s1 += A[ai + p + 1]! * Q[qj + p + 1]!;
    }
    if (p < P) s0 += A[ai + p]! * Q[qj + p]!;
    return s0 + s1;
  };
  let i = 0;
  for (; i + 1 < P; i += 2) {
    const a0o = i * P;
    const a1o = a0o + P;
    let j = 0;
    for (; j + 3 < m; j += 4) {
      const q0o = j * P;
      const q1o = q0o + P;
      const q2o = q1o + P;
      const q3o = q2o + P;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      for (let p = 0; p < P; p++) {
        const a0 = A[a0o + p]!, a1 = A[a1o + p]!;
        const q0 = Q[q0o + p]!, q1 = Q[q1o + p]!, q2 = Q[q2o + p]!, q3 = Q[q3o + p]!;
        c00 += a0 * q0; c01 += a0 * q1; c02 += a0 * q2; c03 += a0 * q3;
        c10 += a1 * q0; c11 += a1 * q1; c12 += a1 * q2; c13 += a1 * q3;
      }
      out[q0o + i] = c00; out[q1o + i] = c01; out[q2o + i] = c02; out[q3o + i] = c03;
      out[q0o + i + 1] = c10; out[q1o + i + 1] = c11; out[q2o + i + 1] = c12; out[q3o + i + 1] = c13;
    }
    for (; j < m; j++) {
      out[j * P + i] = dot(a0o, j * P);
      out[j * P + i + 1] = dot(a1o, j * P);
    }
  }
  for (; i < P; i++) for (let j = 0; j < m; j++) out[j * P + i] = dot(i * P, j * P);
}

/** Modified Gram-Schmidt (two passes) on the m rows of Q; a row that vanishes is redrawn at random. */
function orthonormalizeRows(Q: Float64Array, m: number, P: number, rng: { normal(): number }): void {
  for (let j = 0; j < m; j++) {
    const qj = j * P;
    for (let attempt = 0; ; attempt++) {
      let before = 0;
      for (let p = 0; p < P; p++) before += Q[qj + p]! * Q[qj + p]!;
      for (let pass = 0; pass < 2; pass++) {
        for (let i = 0; i < j; i++) {
          const qi = i * P;
          let dot = 0;
          for (let p = 0; p < P; p++) dot += Q[qi + p]! * Q[qj + p]!;
          for (let p = 0; p < P; p++) Q[qj + p]! -= dot * Q[qi + p]!;
        }
      }
      let norm = 0;
      for (let p = 0; p < P; p++) norm += Q[qj + p]! * Q[qj + p]!;
      if (norm > 1e-20 * Math.max(before, 1e-300) && norm > 0) {
        const inv = 1 / Math.sqrt(norm);
        for (let p = 0; p < P; p++) Q[qj + p]! *= inv;
        break;
      }
      if (attempt > 10) throw new Error('PCA: could not orthonormalize the iteration block');
      for (let p = 0; p < P; p++) Q[qj + p] = rng.normal();
    }
  }
}

/** Cyclic Jacobi eigensolver for a small symmetric m*m matrix; eigenvectors are the columns of `vectors`. */
function jacobiEigen(input: Float64Array, m: number): { values: Float64Array; vectors: Float64Array } {
  const A = Float64Array.from(input);
  const V = new Float64Array(m * m);
  for (let i = 0; i < m; i++) V[i * m + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < m; i++) {
      diag += A[i * m + i]! * A[i * m + i]!;
      for (let j = i + 1; j < m; j++) off += A[i * m + j]! * A[i * m + j]!;
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < m; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = A[p * m + q]!;
        if (apq === 0) continue;
        const app = A[p * m + p]!;
        const aqq = A[q * m + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < m; r++) {
          const arp = A[r * m + p]!;
          const arq = A[r * m + q]!;
          A[r * m + p] = c * arp - s * arq;
          A[r * m + q] = s * arp + c * arq;
        }
        for (let r = 0; r < m; r++) {
          const apr = A[p * m + r]!;
          const aqr = A[q * m + r]!;
          A[p * m + r] = c * apr - s * aqr;
          A[q * m + r] = s * apr + c * aqr;
        }
        for (let r = 0; r < m; r++) {
          const vrp = V[r * m + p]!;
          const vrq = V[r * m + q]!;
          V[r * m + p] = c * vrp - s * vrq;
          V[r * m + q] = s * vrp + c * vrq;
        }
      }
    }
  }
  const values = new Float64Array(m);
  for (let i = 0; i < m; i++) values[i] = A[i * m + i]!;
  return { values, vectors: V };
}

/** PCA coordinates [n * D] of every image: z = basis (x - mean), x scaled to [-1, 1]. */
function projectAll(images: Uint8Array, n: number, P: number, D: number, mean: Float32Array, basis: Float32Array): Float64Array {
  // z = (1/127.5) basis x_bytes - basis (1 + mean); only nonzero bytes contribute to the first term.
  // basisT is [P * D8] (D padded to a multiple of 8), so 8 coordinates accumulate in registers.
  const D8 = Math.ceil(D / 8) * 8;
  const basisT = new Float64Array(P * D8);
  for (let d = 0; d < D; d++) for (let p = 0; p < P; p++) basisT[p * D8 + d] = basis[d * P + p]!;
  const offset = new Float64Array(D8);
  for (let p = 0; p < P; p++) {
    const shift = 1 + mean[p]!;
    for (let d = 0; d < D; d++) offset[d]! += basisT[p * D8 + d]! * shift;
  }
  const Z = new Float64Array(n * D);
  const idx = new Int32Array(P);
  const val = new Float64Array(P);
  for (let i = 0; i < n; i++) {
    const off = i * P;
    let nnz = 0;
    for (let p = 0; p < P; p++) {
      const v = images[off + p]!;
      if (v === 0) continue;
      idx[nnz] = p * D8;
      val[nnz] = v;
      nnz++;
    }
    const zi = i * D;
    for (let d = 0; d < D8; d += 8) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
      for (let a = 0; a < nnz; a++) {
        const v = val[a]!;
        const b = idx[a]! + d;
        s0 += v * basisT[b]!; s1 += v * basisT[b + 1]!; s2 += v * basisT[b + 2]!; s3 += v * basisT[b + 3]!;
        s4 += v * basisT[b + 4]!; s5 += v * basisT[b + 5]!; s6 += v * basisT[b + 6]!; s7 += v * basisT[b + 7]!;
      }
      const sums = [s0, s1, s2, s3, s4, s5, s6, s7];
      for (let e = 0; e < 8 && d + e < D; e++) Z[zi + d + e] = sums[e]! / 127.5 - offset[d + e]!;
    }
  }
  return Z;
}

/** sum_d (x[xo+d] - m[mo+d])^2 (four accumulators, to break the add dependency chain). */
function squaredDistance(x: Float64Array, xo: number, m: Float64Array, mo: number, D: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let d = 0;
  for (; d + 3 < D; d += 4) {
    const e0 = x[xo + d]! - m[mo + d]!;
    const e1 = x[xo + d + 1]! - m[mo + d + 1]!;
    const e2 = x[xo + d + 2]! - m[mo + d + 2]!;
    const e3 = x[xo + d + 3]! - m[mo + d + 3]!;
    s0 += e0 * e0; s1 += e1 * e1; s2 += e2 * e2; s3 += e3 * e3;
  }
  for (; d < D; d++) {
    const e = x[xo + d]! - m[mo + d]!;
    s0 += e * e;
  }
  return s0 + s1 + s2 + s3;
}

/** sum_d (x[xo+d] - m[mo+d])^2 * w[mo+d] (four accumulators). */
function weightedSqDist(x: Float64Array, xo: number, m: Float64Array, mo: number, w: Float64Array, D: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let d = 0;
  for (; d + 3 < D; d += 4) {
    const e0 = x[xo + d]! - m[mo + d]!;
    const e1 = x[xo + d + 1]! - m[mo + d + 1]!;
    const e2 = x[xo + d + 2]! - m[mo + d + 2]!;
    const e3 = x[xo + d + 3]! - m[mo + d + 3]!;
    s0 += e0 * e0 * w[mo + d]!;
    s1 += e1 * e1 * w[mo + d + 1]!;
    s2 += e2 * e2 * w[mo + d + 2]!;
    s3 += e3 * e3 * w[mo + d + 3]!;
  }
  for (; d < D; d++) {
    const e = x[xo + d]! - m[mo + d]!;
    s0 += e * e * w[mo + d]!;
  }
  return s0 + s1 + s2 + s3;
}

/** k-means++ seeding, Lloyd iterations, then EM for a K-component diagonal GMM of the n rows of X. */
function fitDiagonalGmm(
  X: Float64Array,
  n: number,
  D: number,
  K: number,
  floor: Float64Array,
  rng: { uniform(): number; int(n: number): number },
): { weights: Float64Array; means: Float64Array; vars: Float64Array } {
  const centers = new Float64Array(K * D);
  const dist = new Float64Array(n).fill(Infinity);
  const sqDist = (i: number, k: number) => squaredDistance(X, i * D, centers, k * D, D);
  // k-means++ seeding.
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
  // Lloyd iterations.
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
  // Initial mixture from the hard clusters.
  const weights = new Float64Array(K);
  const means = Float64Array.from(centers);
  const vars = new Float64Array(K * D);
  counts.fill(0);
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
  // EM.
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
  return { weights, means, vars };
}

function normalize(w: Float64Array): void {
  let total = 0;
  for (const x of w) total += x;
  for (let i = 0; i < w.length; i++) w[i]! /= total;
}

// ---------------------------------------------------------------------------------------------
// Validation and serialization

function fail(message: string): never {
  throw new GmmModelFormatError(`GMM generator model: ${message}`);
}

function checkFloats(name: string, arr: unknown, length: number, check?: (v: number) => boolean): void {
  if (!(arr instanceof Float32Array)) fail(`${name} is not a Float32Array`);
  if (arr.length !== length) fail(`${name} has ${arr.length} values, expected ${length}`);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i]!;
    if (!Number.isFinite(v)) fail(`${name}[${i}] is not finite (${v})`);
    if (check && !check(v)) fail(`${name}[${i}] = ${v} is out of range`);
  }
}

/** Throws GmmModelFormatError unless the model's shapes and values are consistent and finite. */
export function validateGmmModel(model: GmmGeneratorModel): void {
  if (typeof model !== 'object' || model === null) fail('not an object');
  if (model.formatVersion !== GMM_FORMAT_VERSION) fail(`format version ${model.formatVersion}, expected ${GMM_FORMAT_VERSION}`);
  if (typeof model.codeVersion !== 'string') fail('codeVersion is not a string');
  if (model.pixels !== IMAGE_PIXELS) fail(`pixels is ${model.pixels}, expected ${IMAGE_PIXELS}`);
  const P = model.pixels;
  const D = model.pcaDims;
  if (!Number.isInteger(D) || D < 1 || D > P) fail(`pcaDims ${D} is not an integer in 1..${P}`);
  if (!Array.isArray(model.classes) || model.classes.length < 1 || model.classes.length > 65535) fail('classes must be a non-empty array');
  for (const c of model.classes) if (typeof c !== 'string' || c.length > 1000) fail('class names must be strings');
  const C = model.classes.length;
  if (!Number.isInteger(model.componentsPerClass) || model.componentsPerClass < 1 || model.componentsPerClass > 65535) {
    fail(`componentsPerClass ${model.componentsPerClass} is not a positive integer`);
  }
  if (!Number.isInteger(model.fitSeed)) fail('fitSeed is not an integer');
  if (!Number.isInteger(model.trainCount) || model.trainCount < 0) fail('trainCount is not a non-negative integer');
  if (!(model.explainedVariance >= 0 && model.explainedVariance <= 1)) fail('explainedVariance is not in [0, 1]');
  if (!(model.componentClass instanceof Uint16Array)) fail('componentClass is not a Uint16Array');
  const K = model.componentClass.length;
  if (K < C || K > C * model.componentsPerClass) fail(`${K} components for ${C} classes of at most ${model.componentsPerClass}`);
  checkFloats('mean', model.mean, P, (v) => Math.abs(v) <= 1.0001);
  checkFloats('basis', model.basis, D * P);
  checkFloats('eigenvalues', model.eigenvalues, D, (v) => v >= 0);
  checkFloats('classPrior', model.classPrior, C, (v) => v >= 0 && v <= 1);
  checkFloats('componentWeight', model.componentWeight, K, (v) => v >= 0 && v <= 1);
  checkFloats('componentMean', model.componentMean, K * D);
  checkFloats('componentVar', model.componentVar, K * D, (v) => v > 0);
  for (let d = 0; d < D; d++) {
    let norm = 0;
    for (let p = 0; p < P; p++) norm += model.basis[d * P + p]! ** 2;
    if (Math.abs(norm - 1) > 1e-3) fail(`basis row ${d} has norm^2 ${norm}, expected 1`);
  }
  let priorSum = 0;
  for (const v of model.classPrior) priorSum += v;
  if (Math.abs(priorSum - 1) > 1e-3) fail(`classPrior sums to ${priorSum}, expected 1`);
  const weightSum = new Float64Array(C);
  const perClass = new Uint32Array(C);
  for (let k = 0; k < K; k++) {
    const c = model.componentClass[k]!;
    if (c >= C) fail(`componentClass[${k}] = ${c} is out of range`);
    if (k > 0 && c < model.componentClass[k - 1]!) fail('components are not grouped by class');
    weightSum[c]! += model.componentWeight[k]!;
    perClass[c]! += 1;
  }
  for (let c = 0; c < C; c++) {
    if (perClass[c] === 0) fail(`class "${model.classes[c]}" has no components`);
    if (perClass[c]! > model.componentsPerClass) fail(`class "${model.classes[c]}" has ${perClass[c]} components`);
    if (Math.abs(weightSum[c]! - 1) > 1e-3) fail(`component weights of class "${model.classes[c]}" sum to ${weightSum[c]}`);
  }
}

interface ModelHeader {
  format: 'synthscale-gmm';
  formatVersion: number;
  codeVersion: string;
  classes: string[];
  pixels: number;
  pcaDims: number;
  componentsPerClass: number;
  fitSeed: number;
  trainCount: number;
  explainedVariance: number;
  componentClass: number[];
}

const MAX_HEADER_BYTES = 4 * 1024 * 1024;

/**
 * Layout: "SSGM", u32 LE format version, u32 LE header length, UTF-8 JSON header, zero padding to a
 * multiple of 4, then float32 LE arrays: mean, basis, eigenvalues, classPrior, componentWeight,
 * componentMean, componentVar. (~160 KB for 48 dims and 120 components.)
 */
export function serializeGmmModel(model: GmmGeneratorModel): Uint8Array {
  validateGmmModel(model);
  const header: ModelHeader = {
    format: 'synthscale-gmm',
    formatVersion: model.formatVersion,
    codeVersion: model.codeVersion,
    classes: model.classes,
    pixels: model.pixels,
    pcaDims: model.pcaDims,
    componentsPerClass: model.componentsPerClass,
    fitSeed: model.fitSeed,
    trainCount: model.trainCount,
    explainedVariance: model.explainedVariance,
    componentClass: Array.from(model.componentClass),
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = align4(12 + headerBytes.length);
  const arrays = [model.mean, model.basis, model.eigenvalues, model.classPrior, model.componentWeight, model.componentMean, model.componentVar];
  const floats = arrays.reduce((s, a) => s + a.length, 0);
  const out = new Uint8Array(dataStart + floats * 4);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(4, GMM_FORMAT_VERSION, true);
  view.setUint32(8, headerBytes.length, true);
  out.set(headerBytes, 12);
  let off = dataStart;
  for (const arr of arrays) {
    for (let i = 0; i < arr.length; i++, off += 4) view.setFloat32(off, arr[i]!, true);
  }
  return out;
}

function align4(x: number): number {
  return (x + 3) & ~3;
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** Parse and validate a serialized model (untrusted input): throws GmmModelFormatError when malformed. */
export function deserializeGmmModel(bytes: Uint8Array): GmmGeneratorModel {
  if (!(bytes instanceof Uint8Array)) fail('input is not a Uint8Array');
  if (bytes.length < 12) fail(`${bytes.length} bytes is too short for a model`);
  for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC[i]) fail('bad magic bytes (not a synthscale GMM model)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== GMM_FORMAT_VERSION) fail(`unsupported format version ${version} (this code reads ${GMM_FORMAT_VERSION})`);
  const headerLength = view.getUint32(8, true);
  if (headerLength > MAX_HEADER_BYTES || 12 + headerLength > bytes.length) fail(`header length ${headerLength} exceeds the data`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + headerLength)));
  } catch (err) {
    fail(`header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('header is not an object');
  const h = raw as Partial<Record<keyof ModelHeader, unknown>>;
  if (h.format !== 'synthscale-gmm') fail(`header format is ${JSON.stringify(h.format)}`);
  if (h.formatVersion !== version) fail('header format version does not match');
  if (typeof h.codeVersion !== 'string' || h.codeVersion.length > 200) fail('header codeVersion is not a string');
  if (!isInt(h.pixels, 1, 1 << 20) || h.pixels !== IMAGE_PIXELS) fail(`header pixels is ${String(h.pixels)}, expected ${IMAGE_PIXELS}`);
  if (!isInt(h.pcaDims, 1, h.pixels)) fail(`header pcaDims ${String(h.pcaDims)} is out of range`);
  if (!Array.isArray(h.classes) || h.classes.length < 1 || h.classes.length > 65535 || !h.classes.every((c) => typeof c === 'string')) {
    fail('header classes must be a non-empty array of strings');
  }
  if (!isInt(h.componentsPerClass, 1, 65535)) fail('header componentsPerClass is out of range');
  if (!isInt(h.fitSeed, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) fail('header fitSeed is not an integer');
  if (!isInt(h.trainCount, 0, Number.MAX_SAFE_INTEGER)) fail('header trainCount is not a non-negative integer');
  if (typeof h.explainedVariance !== 'number') fail('header explainedVariance is not a number');
  const classes = h.classes as string[];
  const C = classes.length;
  if (!Array.isArray(h.componentClass) || h.componentClass.length < C || h.componentClass.length > C * h.componentsPerClass) {
    fail('header componentClass has the wrong length');
  }
  if (!h.componentClass.every((c) => isInt(c, 0, C - 1))) fail('header componentClass has an out-of-range class');
  const componentClass = Uint16Array.from(h.componentClass as number[]);
  const P = h.pixels;
  const D = h.pcaDims;
  const K = componentClass.length;
  const sizes = [P, D * P, D, C, K, K * D, K * D];
  const floats = sizes.reduce((s, x) => s + x, 0);
  const dataStart = align4(12 + headerLength);
  if (bytes.length !== dataStart + floats * 4) {
    fail(`${bytes.length} bytes, expected ${dataStart + floats * 4} for ${D} dims, ${C} classes and ${K} components`);
  }
  let off = dataStart;
  const arrays = sizes.map((len) => {
    const arr = new Float32Array(len);
    for (let i = 0; i < len; i++, off += 4) arr[i] = view.getFloat32(off, true);
    return arr;
  });
  const [mean, basis, eigenvalues, classPrior, componentWeight, componentMean, componentVar] = arrays as [
    Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array,
  ];
  const model: GmmGeneratorModel = {
    formatVersion: version,
    codeVersion: h.codeVersion,
    classes,
    pixels: P,
    pcaDims: D,
    componentsPerClass: h.componentsPerClass,
    fitSeed: h.fitSeed,
    trainCount: h.trainCount,
    explainedVariance: h.explainedVariance,
    mean,
    basis,
    eigenvalues,
    classPrior,
    componentClass,
    componentWeight,
    componentMean,
    componentVar,
  };
  validateGmmModel(model);
  return model;
}

// ---------------------------------------------------------------------------------------------
// Sampling

/** alpha-bar for the DDPM linear beta schedule over TRAIN_TIMESTEPS. */
const ALPHA_BAR: Float64Array = (() => {
  const out = new Float64Array(TRAIN_TIMESTEPS);
  let prod = 1;
  for (let t = 0; t < TRAIN_TIMESTEPS; t++) {
    const beta = BETA_START + ((BETA_END - BETA_START) * t) / (TRAIN_TIMESTEPS - 1);
    prod *= 1 - beta;
    out[t] = prod;
  }
  return out;
})();

/** The DDIM timesteps for `steps` steps: evenly spaced from T-1 down to 0. */
export function ddimTimesteps(steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > TRAIN_TIMESTEPS) {
    throw new RangeError(`steps must be an integer in 1..${TRAIN_TIMESTEPS}, got ${steps}`);
  }
  if (steps === 1) return [TRAIN_TIMESTEPS - 1];
  return Array.from({ length: steps }, (_, i) => Math.round(((TRAIN_TIMESTEPS - 1) * (steps - 1 - i)) / (steps - 1)));
}

interface StepTable {
  sqrtAb: number;
  sqrt1mAb: number;
  sqrtAbPrev: number;
  sqrt1mAbPrev: number;
  /** [K*D] sqrt(ab) * mu */
  shiftedMean: Float64Array;
  /** [K*D] 1 / (ab var + 1 - ab) */
  invVar: Float64Array;
  /** [K*D] sqrt(ab) var / (ab var + 1 - ab): posterior-mean gain */
  gain: Float64Array;
  /** [K*D] mu - gain sqrt(ab) mu: posterior mean = offsetMean + gain z */
  offsetMean: Float64Array;
  /** [K] -0.5 sum_d log(ab var + 1 - ab) */
  logNorm: Float64Array;
}

interface Prepared {
  K: number;
  D: number;
  P: number;
  C: number;
  mean: Float64Array;
  basis: Float64Array;
  /** [P] decode buffer (sampling is synchronous, so one per model is enough). */
  pixelsScratch: Float64Array;
  /** [K] log of the unconditional (global) component weights. */
  logWeightUncond: Float64Array;
  /** [K * 3] within-class z-scores of each component mean's brightness, size and texture. */
  featureZ: Float64Array;
  tables: Map<number, StepTable[]>;
}

const prepared = new WeakMap<GmmGeneratorModel, Prepared>();

/** Per-model derived tables (cached; models are treated as immutable once sampled from). */
function prepare(model: GmmGeneratorModel): Prepared {
  let ready = prepared.get(model);
  if (ready) return ready;
  validateGmmModel(model);
  const K = model.componentClass.length;
  const logWeightUncond = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const w = model.classPrior[model.componentClass[k]!]! * model.componentWeight[k]!;
    logWeightUncond[k] = w > 0 ? Math.log(w) : -Infinity;
  }
  ready = {
    K,
    D: model.pcaDims,
    P: model.pixels,
    C: model.classes.length,
    mean: Float64Array.from(model.mean),
    basis: Float64Array.from(model.basis),
    pixelsScratch: new Float64Array(model.pixels),
    logWeightUncond,
    featureZ: componentFeatureZ(model),
    tables: new Map(),
  };
  prepared.set(model, ready);
  return ready;
}

/**
 * Per component, features of its mean image: brightness (mean intensity of its foreground, pixels
 * above -0.5 in [-1, 1]), size (the foreground's share of the image) and texture (mean absolute
 * difference of neighbouring pixels), each z-scored among the components of the same class, so an
 * attribute moves weight between a class's own modes and never changes the class.
 */
export function componentFeatureZ(model: GmmGeneratorModel): Float64Array {
  const K = model.componentClass.length;
  const D = model.pcaDims;
  const P = model.pixels;
  const side = Math.round(Math.sqrt(P));
  const raw = new Float64Array(K * 3);
  const x = new Float64Array(P);
  for (let k = 0; k < K; k++) {
    for (let p = 0; p < P; p++) x[p] = model.mean[p]!;
    for (let d = 0; d < D; d++) {
      const coef = model.componentMean[k * D + d]!;
      for (let p = 0; p < P; p++) x[p] = x[p]! + coef * model.basis[d * P + p]!;
    }
    let fg = 0;
    let fgSum = 0;
    let tv = 0;
    for (let p = 0; p < P; p++) {
      if (x[p]! > -0.5) {
        fg++;
        fgSum += (x[p]! + 1) / 2;
      }
      if ((p + 1) % side !== 0) tv += Math.abs(x[p + 1]! - x[p]!);
      if (p + side < P) tv += Math.abs(x[p + side]! - x[p]!);
    }
    raw[k * 3] = fg ? fgSum / fg : 0;
    raw[k * 3 + 1] = fg / P;
    raw[k * 3 + 2] = tv / P;
  }
  const z = new Float64Array(K * 3);
  for (let c = 0; c < model.classes.length; c++) {
    const members: number[] = [];
    for (let k = 0; k < K; k++) if (model.componentClass[k] === c) members.push(k);
    for (let a = 0; a < 3; a++) {
      const values = members.map((k) => raw[k * 3 + a]!);
      const mean = values.reduce((s, v) => s + v, 0) / Math.max(1, values.length);
      const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, values.length));
      for (const k of members) z[k * 3 + a] = sd > 1e-9 ? (raw[k * 3 + a]! - mean) / sd : 0;
    }
  }
  return z;
}

function stepTables(model: GmmGeneratorModel, ready: Prepared, steps: number): StepTable[] {
  let tables = ready.tables.get(steps);
  if (tables) return tables;
  const { K, D } = ready;
  const ts = ddimTimesteps(steps);
  tables = ts.map((t, i) => {
    const ab = ALPHA_BAR[t]!;
    const abPrev = i + 1 < ts.length ? ALPHA_BAR[ts[i + 1]!]! : 1;
    const sqrtAb = Math.sqrt(ab);
    const shiftedMean = new Float64Array(K * D);
    const invVar = new Float64Array(K * D);
    const gain = new Float64Array(K * D);
    const offsetMean = new Float64Array(K * D);
    const logNorm = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      let logDet = 0;
      for (let d = 0; d < D; d++) {
        const j = k * D + d;
        const v = model.componentVar[j]!;
        const total = ab * v + (1 - ab);
        shiftedMean[j] = sqrtAb * model.componentMean[j]!;
        invVar[j] = 1 / total;
        gain[j] = (sqrtAb * v) / total;
        offsetMean[j] = model.componentMean[j]! - gain[j]! * shiftedMean[j]!;
        logDet += Math.log(total);
      }
      logNorm[k] = -0.5 * logDet;
    }
    return {
      sqrtAb,
      sqrt1mAb: Math.sqrt(1 - ab),
      sqrtAbPrev: Math.sqrt(abPrev),
      sqrt1mAbPrev: Math.sqrt(1 - abPrev),
      shiftedMean,
      invVar,
      gain,
      offsetMean,
      logNorm,
    };
  });
  if (ready.tables.size >= 8) ready.tables.clear();
  ready.tables.set(steps, tables);
  return tables;
}

/** The conditional mixture weights the sampler uses for (classWeights, attributes); for inspection and tests. */
export function conditionalComponentWeights(model: GmmGeneratorModel, classWeights: Float64Array, attributes: PromptAttributes | null = null): Float64Array {
  return conditionalLogWeights(model, prepare(model), classWeights, attributes).map((v) => Math.exp(v));
}

/**
 * log of the conditional component weights: classWeights[class(k)] * pi_{k|class}, tilted within
 * each class by the prompt's attributes (renormalized per class, so class weights are unchanged).
 */
function conditionalLogWeights(
  model: GmmGeneratorModel,
  ready: Prepared,
  classWeights: Float64Array,
  attributes: PromptAttributes | null = null,
): Float64Array {
  if (classWeights.length !== ready.C) {
    throw new RangeError(`classWeights has ${classWeights.length} entries, the model has ${ready.C} classes`);
  }
  let total = 0;
  for (const w of classWeights) {
    if (!Number.isFinite(w) || w < 0) throw new RangeError(`classWeights must be finite and non-negative, got ${w}`);
    total += w;
  }
  if (!(total > 0)) throw new RangeError('classWeights must have a positive entry (use null for unconditional)');
  const out = new Float64Array(ready.K);
  const within = Float64Array.from(model.componentWeight);
  if (attributes) {
    for (const a of ATTRIBUTE_NAMES) {
      const v = attributes[a];
      if (!Number.isFinite(v) || v < -1 || v > 1) throw new RangeError(`attribute ${a} must be in [-1, 1], got ${v}`);
    }
    const perClass = new Float64Array(ready.C);
    for (let k = 0; k < ready.K; k++) {
      const z = ready.featureZ;
      const tilt = attributes.brightness * z[k * 3]! + attributes.size * z[k * 3 + 1]! + attributes.texture * z[k * 3 + 2]!;
      within[k] = within[k]! * Math.exp(ATTRIBUTE_STRENGTH * tilt);
      const c = model.componentClass[k]!;
      perClass[c] = perClass[c]! + within[k]!;
    }
    for (let k = 0; k < ready.K; k++) within[k] = within[k]! / perClass[model.componentClass[k]!]!;
  }
  for (let k = 0; k < ready.K; k++) {
    const w = (classWeights[model.componentClass[k]!]! / total) * within[k]!;
    out[k] = w > 0 ? Math.log(w) : -Infinity;
  }
  return out;
}

/** Softmax of logLik + logWeight into `out`. */
function responsibilities(logLik: Float64Array, logWeight: Float64Array, out: Float64Array): void {
  const K = logLik.length;
  let max = -Infinity;
  for (let k = 0; k < K; k++) {
    const v = logLik[k]! + logWeight[k]!;
    out[k] = v;
    if (v > max) max = v;
  }
  let total = 0;
  for (let k = 0; k < K; k++) {
    const r = out[k] === -Infinity ? 0 : Math.exp(out[k]! - max);
    out[k] = r;
    total += r;
  }
  const inv = 1 / total;
  for (let k = 0; k < K; k++) out[k]! *= inv;
}

interface Scratch {
  z: Float64Array;
  logLik: Float64Array;
  rU: Float64Array;
  rC: Float64Array;
  x0: Float64Array;
  /** Offsets (k * D) of the components that matter at this step, and their guided weights. */
  active: Int32Array;
  weight: Float64Array;
}

function makeScratch(K: number, D: number): Scratch {
  return {
    z: new Float64Array(D),
    logLik: new Float64Array(K),
    rU: new Float64Array(K),
    rC: new Float64Array(K),
    x0: new Float64Array(D),
    active: new Int32Array(K),
    weight: new Float64Array(K),
  };
}

function validateOptions(opts: SampleOptions): void {
  if (!Number.isFinite(opts.cfgScale) || opts.cfgScale < 0) throw new RangeError(`cfgScale must be finite and >= 0, got ${opts.cfgScale}`);
  if (typeof opts.seed !== 'string') throw new TypeError('seed must be a string');
}

/** Run the DDIM sampler for one image, writing 784 bytes into out at offset. */
function sampleInto(
  ready: Prepared,
  tables: StepTable[],
  logWeightCond: Float64Array | null,
  cfgScale: number,
  seed: string,
  s: Scratch,
  out: Uint8Array,
  outOffset: number,
): void {
  const { K, D, logWeightUncond } = ready;
  const { z, logLik, rU, rC, x0, active, weight } = s;
  const rng = createRng(seed);
  for (let d = 0; d < D; d++) z[d] = rng.normal();
  const conditional = logWeightCond !== null;
  // cfgScale 1 is exactly the conditional model and 0 exactly the unconditional one.
  const needU = !conditional || cfgScale !== 1;
  const needC = conditional && cfgScale !== 0;
  for (let i = 0; i < tables.length; i++) {
    const tb = tables[i]!;
    const { shiftedMean, invVar, gain, logNorm } = tb;
    // log N(z; sqrt(ab) mu_k, ab var_k + 1 - ab), up to a shared constant.
    for (let k = 0; k < K; k++) {
      // Without the unconditional term, components outside the prompt's classes have weight 0.
      logLik[k] = !needU && logWeightCond![k] === -Infinity ? 0 : logNorm[k]! - 0.5 * weightedSqDist(z, 0, shiftedMean, k * D, invVar, D);
    }
    if (needU) responsibilities(logLik, logWeightUncond, rU);
    if (needC) responsibilities(logLik, logWeightCond!, rC);
    // E[z0 | zt] under a mixture is sum_k r_k m_k with m_k = offsetMean_k + gain_k zt (the posterior
    // mean of component k). eps is affine in E[z0 | zt] (eps = (zt - sqrt(ab) E) / sqrt(1 - ab)), so
    // eps_u + s (eps_c - eps_u) is exactly the eps of x0 = sum_k ((1 - s) r_u,k + s r_c,k) m_k.
    const { offsetMean } = tb;
    let nAct = 0;
    for (let k = 0; k < K; k++) {
      const a = needU ? rU[k]! : 0;
      const b = needC ? rC[k]! : 0;
      if (a < RESPONSIBILITY_EPSILON && b < RESPONSIBILITY_EPSILON) continue;
      active[nAct] = k * D;
      weight[nAct] = !needC ? a : !needU ? b : a + cfgScale * (b - a);
      nAct++;
    }
    for (let d = 0; d < D; d++) {
      const zd = z[d]!;
      let s0 = 0;
      let s1 = 0;
      let j = 0;
      for (; j + 1 < nAct; j += 2) {
        const o0 = active[j]! + d;
        const o1 = active[j + 1]! + d;
        s0 += weight[j]! * (offsetMean[o0]! + gain[o0]! * zd);
        s1 += weight[j + 1]! * (offsetMean[o1]! + gain[o1]! * zd);
      }
      if (j < nAct) {
        const o = active[j]! + d;
        s0 += weight[j]! * (offsetMean[o]! + gain[o]! * zd);
      }
      x0[d] = s0 + s1;
    }
    if (i === tables.length - 1) break;
    const { sqrtAb, sqrt1mAb, sqrtAbPrev, sqrt1mAbPrev } = tb;
    for (let d = 0; d < D; d++) {
      const eps = (z[d]! - sqrtAb * x0[d]!) / sqrt1mAb;
      z[d] = sqrtAbPrev * x0[d]! + sqrt1mAbPrev * eps;
    }
  }
  decodeInto(ready, x0, out, outOffset);
}

/** Pixels of mean + basis^T z, mapped from [-1, 1] to bytes with clamping. */
function decodeInto(ready: Prepared, z: Float64Array, out: Uint8Array, outOffset: number): void {
  const { D, P, mean, basis, pixelsScratch: v } = ready;
  v.set(mean);
  for (let d = 0; d < D; d++) {
    const zd = z[d]!;
    const bo = d * P;
    for (let p = 0; p < P; p++) v[p]! += basis[bo + p]! * zd;
  }
  for (let p = 0; p < P; p++) {
    const byte = Math.round((v[p]! + 1) * 127.5);
    out[outOffset + p] = byte < 0 ? 0 : byte > 255 ? 255 : byte;
  }
}

/**
 * One image (784 grayscale bytes) by DDIM (eta = 0) in PCA space with the closed-form mixture
 * denoiser and classifier-free guidance. classWeights null gives an unconditional sample whatever
 * the cfgScale. Deterministic given (model, opts).
 */
export function sampleImage(model: GmmGeneratorModel, opts: SampleOptions): Uint8Array {
  return sampleBatch(model, [opts]);
}

/** Many images, concatenated (items.length * 784 bytes); equal to calling sampleImage on each. */
export function sampleBatch(model: GmmGeneratorModel, items: readonly SampleOptions[]): Uint8Array {
  const ready = prepare(model);
  const out = new Uint8Array(items.length * ready.P);
  const scratch = makeScratch(ready.K, ready.D);
  let lastWeights: Float64Array | null = null;
  let lastAttributes: PromptAttributes | null = null;
  let lastLogWeights: Float64Array | null = null;
  items.forEach((opts, index) => {
    validateOptions(opts);
    const tables = stepTables(model, ready, opts.steps);
    let logWeightCond: Float64Array | null = null;
    if (opts.classWeights !== null) {
      const attributes = opts.attributes ?? null;
      if (opts.classWeights !== lastWeights || attributes !== lastAttributes) {
        lastLogWeights = conditionalLogWeights(model, ready, opts.classWeights, attributes);
        lastWeights = opts.classWeights;
        lastAttributes = attributes;
      }
      logWeightCond = lastLogWeights;
    }
    sampleInto(ready, tables, logWeightCond, opts.cfgScale, opts.seed, scratch, out, index * ready.P);
  });
  return out;
}
