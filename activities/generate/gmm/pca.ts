// PCA of the training images, pixels scaled to [-1, 1]: the mean, the top eigenpairs of the
// covariance of a seeded subsample, and every image's coordinates in the float32-rounded basis.
//
// Two ways to the eigenpairs, by the values per image P: up to COVARIANCE_MAX_VALUES (28x28 grey,
// 32x32 grey, 16x16 RGB) the P x P covariance is formed and its top eigenpairs found by subspace
// iteration (linalg.ts; cheap at these sizes, and what every model fitted before geometries was);
// above, randomized subspace iteration on the data matrix (pca-randomized.ts), which never forms
// the covariance: at 32x32 RGB with 10000 images it takes a fraction of the covariance's time and
// memory, and its cost grows with P rather than P^2.
import { createRng, permutation } from '../../../core/rng.js';
import { topEigenpairs } from './linalg.js';
import type { TrainImages } from './model.js';
import { dataTopEigenpairs } from './pca-randomized.js';

/** Images used to estimate the pixel covariance (all of them are used for the mean and the mixtures). */
const COVARIANCE_SAMPLES = 20000;
/** Largest P whose covariance is formed (see the header). */
export const COVARIANCE_MAX_VALUES = 1024;

export type PcaMethod = 'covariance' | 'randomized';

export function pcaMethodFor(P: number): PcaMethod {
  return P <= COVARIANCE_MAX_VALUES ? 'covariance' : 'randomized';
}

export interface Pca {
  /** [P] mean image, in [-1, 1] (float32, as stored). */
  mean: Float32Array;
  /** [D * P] principal directions (float32, as stored). */
  basis: Float32Array;
  eigenvalues: Float32Array;
  /** Variance inside the subspace (sum of the kept eigenvalues). */
  explained: number;
  /** Variance of all pixels (trace of the covariance). */
  totalVariance: number;
  /** [n * D] every training image in PCA coordinates. */
  Z: Float64Array;
}

/** The top D principal directions of the n = train.count images; `step` reports each phase. */
export function fitPca(train: TrainImages, P: number, D: number, fitSeed: number, step: (msg: string) => void, method: PcaMethod = pcaMethodFor(P)): Pca {
  const n = train.count;
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
      : permutation(n, createRng(`gmm-fit|${fitSeed}|pca-subsample`)).subarray(0, nCov).sort();
  const { values, vectors, totalVariance } = topDirections(train.images, subsample, P, D, fitSeed, method, step);
  const basis = Float32Array.from(vectors);
  const eigenvalues = Float32Array.from(values, (v) => Math.max(v, 0));
  const mean = Float32Array.from(meanBytes, (m) => m / 127.5 - 1);
  let explained = 0;
  for (let d = 0; d < D; d++) explained += eigenvalues[d]!;
  step(`PCA: ${D} directions hold ${((100 * explained) / totalVariance).toFixed(1)}% of the variance`);

  // Project every image with the float32-rounded mean and basis the model will store.
  const Z = projectAll(train.images, n, P, D, mean, basis);
  step(`projected ${n} images`);
  return { mean, basis, eigenvalues, explained, totalVariance, Z };
}

/** The top D eigenpairs of the covariance of images `which`, by `method`, and its trace. */
function topDirections(
  images: Uint8Array,
  which: Uint32Array,
  P: number,
  D: number,
  fitSeed: number,
  method: PcaMethod,
  step: (msg: string) => void,
): { values: Float64Array; vectors: Float64Array; totalVariance: number } {
  const rng = createRng(`gmm-fit|${fitSeed}|pca-init`);
  if (method === 'randomized') {
    const out = dataTopEigenpairs(images, which, P, D, rng);
    step(`randomized subspace iteration over ${which.length} images of ${P} values`);
    return out;
  }
  const cov = pixelCovariance(images, which, P);
  let totalVariance = 0;
  for (let p = 0; p < P; p++) totalVariance += cov[p * P + p]!;
  step(`covariance of ${which.length} images`);
  // Top D eigenpairs by subspace iteration + Rayleigh-Ritz.
  return { ...topEigenpairs(cov, P, D, rng), totalVariance };
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
