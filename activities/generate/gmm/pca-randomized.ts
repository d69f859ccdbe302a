// The top eigenpairs of the pixel covariance without forming it, for images with many values
// (32x32 RGB: 3072): randomized subspace iteration (Halko, Martinsson & Tropp 2011, algorithm 4.4)
// on the centred data matrix X (n images x P values, scaled to [-1, 1]), then Rayleigh-Ritz.
//
// Cost: each iteration is Y = X^T (X Q^T) / n for an m x P block Q (m = k + max(16, k/2), the
// oversampling topEigenpairs uses), i.e. 2 n P m multiply-adds and one pass over the bytes, against
// n P^2 / 2 for the covariance alone; memory is the bytes plus a few m x P blocks, never P x P.
// At 32x32x3 with 10000 images and k = 48 that is ~4.4e9 per iteration vs ~4.7e10 for the
// covariance (then 17 P^2 m more for its subspace iteration). The images are read in blocks of
// BLOCK, centred into float64, and both products are done on the block while it is in cache, in
// 4x4 register tiles. Deterministic for given bytes, rows and rng.
import { orthonormalizeRows, ritzPairs } from './linalg.js';

/** Power iterations; with the oversampling, the top k directions of image data converge well before. */
export const RANDOMIZED_PCA_ITERATIONS = 6;
const BLOCK = 32;

export interface DataEigenpairs {
  /** [k] eigenvalues of the covariance (values scaled to [-1, 1]), descending. */
  values: Float64Array;
  /** [k * P] unit eigenvectors, sign fixed so the largest-magnitude entry is positive. */
  vectors: Float64Array;
  /** Trace of the covariance: the variance of all values. */
  totalVariance: number;
}

/** The top k eigenpairs of the covariance of images `which` (population covariance, as pca.ts's). */
export function dataTopEigenpairs(
  images: Uint8Array,
  which: Uint32Array,
  P: number,
  k: number,
  rng: { normal(): number },
  iterations = RANDOMIZED_PCA_ITERATIONS,
): DataEigenpairs {
  const n = which.length;
  const { mean, totalVariance } = moments(images, which, P);
  const m = Math.min(P, k + Math.max(16, Math.ceil(k / 2)));
  const m4 = Math.ceil(m / 4) * 4;
  // Q is m4 x P; rows m..m4 stay zero (padding for the 4x4 tiles).
  let Q = new Float64Array(m4 * P);
  for (let i = 0; i < m * P; i++) Q[i] = rng.normal();
  orthonormalizeRows(Q, m, P, rng);
  let Y = new Float64Array(m4 * P);
  const T = new Float64Array(m4 * m4);
  for (let it = 0; it < iterations; it++) {
    Y.fill(0);
    passOverData(images, which, P, mean, Q, m4, Y, null);
    for (let i = 0; i < m * P; i++) Y[i]! /= n;
    orthonormalizeRows(Y, m, P, rng);
    [Q, Y] = [Y, Q];
  }
  // Rayleigh-Ritz: T = Q C Q^T = (X Q^T)^T (X Q^T) / n, T = W diag(l) W^T, Ritz vectors = W^T Q.
  passOverData(images, which, P, mean, Q, m4, null, T);
  const small = new Float64Array(m * m);
  for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) small[a * m + b] = T[a * m4 + b]! / n;
  const { values: outValues, vectors: outVectors } = ritzPairs(small, m, Q, P, k);
  return { values: outValues, vectors: outVectors, totalVariance };
}

/** Mean (bytes) of each value over the rows, and the covariance's trace (scaled to [-1, 1]). */
function moments(images: Uint8Array, which: Uint32Array, P: number): { mean: Float64Array; totalVariance: number } {
  const sum = new Float64Array(P);
  const sq = new Float64Array(P);
  for (const row of which) {
    const off = row * P;
    for (let p = 0; p < P; p++) {
      const v = images[off + p]!;
      sum[p]! += v;
      sq[p]! += v * v;
    }
  }
  const n = which.length;
  const mean = new Float64Array(P);
  let totalVariance = 0;
  for (let p = 0; p < P; p++) {
    mean[p] = sum[p]! / n;
    totalVariance += (sq[p]! / n - mean[p]! * mean[p]!) / (127.5 * 127.5);
  }
  return { mean, totalVariance };
}

/**
 * One pass over the rows in blocks: A = Xb Q^T per block (Xb centred, scaled), then Y += A^T Xb
 * (when Y is given) or T += A^T A (when T is given). Q, Y are m4 x P; T is m4 x m4.
 */
function passOverData(
  images: Uint8Array,
  which: Uint32Array,
  P: number,
  mean: Float64Array,
  Q: Float64Array,
  m4: number,
  Y: Float64Array | null,
  T: Float64Array | null,
): void {
  const Xb = new Float64Array(BLOCK * P);
  const A = new Float64Array(BLOCK * m4);
  const inv = 1 / 127.5;
  for (let start = 0; start < which.length; start += BLOCK) {
    const nb = Math.min(BLOCK, which.length - start);
    const nb4 = Math.ceil(nb / 4) * 4;
    if (nb < BLOCK) Xb.fill(0);
    for (let i = 0; i < nb; i++) {
      const off = which[start + i]! * P;
      const xo = i * P;
      for (let p = 0; p < P; p++) Xb[xo + p] = (images[off + p]! - mean[p]!) * inv;
    }
    blockTimesQt(Xb, nb4, Q, m4, P, A);
    if (Y) accumulateAtX(A, nb4, m4, Xb, P, Y);
    if (T) {
      for (let a = 0; a < m4; a++) {
        for (let b = a; b < m4; b++) {
          let s = 0;
          for (let i = 0; i < nb4; i++) s += A[i * m4 + a]! * A[i * m4 + b]!;
          T[a * m4 + b]! += s;
          if (b !== a) T[b * m4 + a]! += s;
        }
      }
    }
  }
}

/** A[i][j] = sum_p X[i][p] Q[j][p] for i < nb4, j < m4 (both multiples of 4): 4x4 register tiles. */
function blockTimesQt(X: Float64Array, nb4: number, Q: Float64Array, m4: number, P: number, A: Float64Array): void {
  for (let i = 0; i < nb4; i += 4) {
    const x0o = i * P, x1o = x0o + P, x2o = x1o + P, x3o = x2o + P;
    for (let j = 0; j < m4; j += 4) {
      const q0o = j * P, q1o = q0o + P, q2o = q1o + P, q3o = q2o + P;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let p = 0; p < P; p++) {
        const a0 = X[x0o + p]!, a1 = X[x1o + p]!, a2 = X[x2o + p]!, a3 = X[x3o + p]!;
        const b0 = Q[q0o + p]!, b1 = Q[q1o + p]!, b2 = Q[q2o + p]!, b3 = Q[q3o + p]!;
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
        c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
        c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
      }
      let o = i * m4 + j;
      A[o] = c00; A[o + 1] = c01; A[o + 2] = c02; A[o + 3] = c03;
      o += m4;
      A[o] = c10; A[o + 1] = c11; A[o + 2] = c12; A[o + 3] = c13;
      o += m4;
      A[o] = c20; A[o + 1] = c21; A[o + 2] = c22; A[o + 3] = c23;
      o += m4;
      A[o] = c30; A[o + 1] = c31; A[o + 2] = c32; A[o + 3] = c33;
    }
  }
}

/** Y[j][p] += sum_i A[i][j] X[i][p] for i < nb4, j < m4: 4 rows of Y against 4 images at a time. */
function accumulateAtX(A: Float64Array, nb4: number, m4: number, X: Float64Array, P: number, Y: Float64Array): void {
  for (let j = 0; j < m4; j += 4) {
    const y0o = j * P, y1o = y0o + P, y2o = y1o + P, y3o = y2o + P;
    for (let i = 0; i < nb4; i += 4) {
      const r0 = i * m4 + j, r1 = r0 + m4, r2 = r1 + m4, r3 = r2 + m4;
      const a00 = A[r0]!, a01 = A[r1]!, a02 = A[r2]!, a03 = A[r3]!;
      const a10 = A[r0 + 1]!, a11 = A[r1 + 1]!, a12 = A[r2 + 1]!, a13 = A[r3 + 1]!;
      const a20 = A[r0 + 2]!, a21 = A[r1 + 2]!, a22 = A[r2 + 2]!, a23 = A[r3 + 2]!;
      const a30 = A[r0 + 3]!, a31 = A[r1 + 3]!, a32 = A[r2 + 3]!, a33 = A[r3 + 3]!;
      const x0o = i * P, x1o = x0o + P, x2o = x1o + P, x3o = x2o + P;
      for (let p = 0; p < P; p++) {
        const x0 = X[x0o + p]!, x1 = X[x1o + p]!, x2 = X[x2o + p]!, x3 = X[x3o + p]!;
        Y[y0o + p]! += a00 * x0 + a01 * x1 + a02 * x2 + a03 * x3;
        Y[y1o + p]! += a10 * x0 + a11 * x1 + a12 * x2 + a13 * x3;
        Y[y2o + p]! += a20 * x0 + a21 * x1 + a22 * x2 + a23 * x3;
        Y[y3o + p]! += a30 * x0 + a31 * x1 + a32 * x2 + a33 * x3;
      }
    }
  }
}
