// Dense linear algebra for the embedded generator's PCA and mixtures: the top eigenpairs of a
// symmetric matrix (subspace iteration + Rayleigh-Ritz), and squared distances. Loops are tiled and
// unrolled for speed; their summation order fixes the bits of every fitted model, so keep it.

const SUBSPACE_ITERATIONS = 16;

/**
 * Top `k` eigenpairs of the symmetric P*P matrix A: orthogonal (subspace) iteration on an
 * oversampled block, then Rayleigh-Ritz with a Jacobi eigensolver on the small projected matrix.
 * Vectors come back row-major [k * P], unit norm, sign fixed so the largest-magnitude entry is positive.
 */
export function topEigenpairs(A: Float64Array, P: number, k: number, rng: { normal(): number }): { values: Float64Array; vectors: Float64Array } {
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
  return ritzPairs(T, m, Q, P, k);
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
export function orthonormalizeRows(Q: Float64Array, m: number, P: number, rng: { normal(): number }): void {
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
export function jacobiEigen(input: Float64Array, m: number): { values: Float64Array; vectors: Float64Array } {
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

/** sum_d (x[xo+d] - m[mo+d])^2 (four accumulators, to break the add dependency chain). */
export function squaredDistance(x: Float64Array, xo: number, m: Float64Array, mo: number, D: number): number {
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
export function weightedSqDist(x: Float64Array, xo: number, m: Float64Array, mo: number, w: Float64Array, D: number): number {
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

/**
 * The top `k` Ritz pairs of the m x m projected matrix `T` (basis rows Q [m, P]): eigenvalues in
 * descending order, and the Ritz vectors W^T Q normalised with their largest entry positive.
 */
export function ritzPairs(T: Float64Array, m: number, Q: Float64Array, P: number, k: number): { values: Float64Array; vectors: Float64Array } {
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
