// The embedded generator's dominant kernel, lifted out of activities/generate/gmm-diffusion.ts
// (which exports only sampleImage/sampleBatch): per DDIM step and image, the log-likelihood of
// z_t under all K mixture components, the unconditional and conditional responsibilities, and the
// guided posterior mean E[z0 | z_t]. The arithmetic (tables, summation order, thresholds) is
// copied from sampleInto so that `sampleWithKernel` reproduces sampleBatch byte for byte; the bench
// checks that before timing anything.
//
// `timeKernel` then runs only that per-step computation, batched step-major over many images, on
// z_t trajectories recorded from real samples: no RNG, validation, per-item setup, DDIM update or
// decode. It is the part of generation that the sampler cannot avoid.
import { ddimTimesteps, type GmmGeneratorModel, type SampleOptions } from '../activities/generate/gmm-diffusion.js';
import { createRng } from '../core/rng.js';

// Constants of gmm-diffusion.ts (not exported there).
const TRAIN_TIMESTEPS = 1000;
const BETA_START = 1e-4;
const BETA_END = 0.02;
const RESPONSIBILITY_EPSILON = 1e-12;

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

interface StepTable {
  sqrtAb: number;
  sqrt1mAb: number;
  sqrtAbPrev: number;
  sqrt1mAbPrev: number;
  shiftedMean: Float64Array;
  invVar: Float64Array;
  gain: Float64Array;
  offsetMean: Float64Array;
  logNorm: Float64Array;
}

export interface KernelSetup {
  K: number;
  D: number;
  P: number;
  tables: StepTable[];
  logWeightUncond: Float64Array;
  /** Per item: conditional log weights (null = unconditional). */
  logWeightCond: (Float64Array | null)[];
  cfgScale: number[];
  seeds: string[];
  mean: Float64Array;
  basis: Float64Array;
}

export function prepareKernel(model: GmmGeneratorModel, items: readonly SampleOptions[]): KernelSetup {
  const K = model.componentClass.length;
  const D = model.pcaDims;
  const steps = items[0]!.steps;
  if (items.some((it) => it.steps !== steps)) throw new Error('prepareKernel: all items must use the same steps');
  const ts = ddimTimesteps(steps);
  const tables = ts.map((t, i): StepTable => {
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
    return { sqrtAb, sqrt1mAb: Math.sqrt(1 - ab), sqrtAbPrev: Math.sqrt(abPrev), sqrt1mAbPrev: Math.sqrt(1 - abPrev), shiftedMean, invVar, gain, offsetMean, logNorm };
  });
  const logWeightUncond = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const w = model.classPrior[model.componentClass[k]!]! * model.componentWeight[k]!;
    logWeightUncond[k] = w > 0 ? Math.log(w) : -Infinity;
  }
  const logWeightCond = items.map((it) => {
    if (it.classWeights === null) return null;
    let total = 0;
    for (const w of it.classWeights) total += w;
    const out = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      const w = (it.classWeights[model.componentClass[k]!]! / total) * model.componentWeight[k]!;
      out[k] = w > 0 ? Math.log(w) : -Infinity;
    }
    return out;
  });
  return {
    K,
    D,
    P: model.pixels,
    tables,
    logWeightUncond,
    logWeightCond,
    cfgScale: items.map((it) => it.cfgScale),
    seeds: items.map((it) => it.seed),
    mean: Float64Array.from(model.mean),
    basis: Float64Array.from(model.basis),
  };
}

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
  logLik: Float64Array;
  rU: Float64Array;
  rC: Float64Array;
  active: Int32Array;
  weight: Float64Array;
}

function makeScratch(K: number): Scratch {
  return { logLik: new Float64Array(K), rU: new Float64Array(K), rC: new Float64Array(K), active: new Int32Array(K), weight: new Float64Array(K) };
}

/**
 * The kernel: x0[b] = guided posterior mean of z0 given z_t = z[b], for items [0, B) at one step.
 * z and x0 are B x D, row-major.
 */
function denoiseStep(s: KernelSetup, tb: StepTable, z: Float64Array, x0: Float64Array, B: number, sc: Scratch): void {
  const { K, D, logWeightUncond } = s;
  const { shiftedMean, invVar, gain, logNorm, offsetMean } = tb;
  const { logLik, rU, rC, active, weight } = sc;
  for (let b = 0; b < B; b++) {
    const zo = b * D;
    const logWeightCond = s.logWeightCond[b]!;
    const cfgScale = s.cfgScale[b]!;
    const conditional = logWeightCond !== null;
    const needU = !conditional || cfgScale !== 1;
    const needC = conditional && cfgScale !== 0;
    for (let k = 0; k < K; k++) {
      logLik[k] = !needU && logWeightCond![k] === -Infinity ? 0 : logNorm[k]! - 0.5 * weightedSqDist(z, zo, shiftedMean, k * D, invVar, D);
    }
    if (needU) responsibilities(logLik, logWeightUncond, rU);
    if (needC) responsibilities(logLik, logWeightCond!, rC);
    let nAct = 0;
    for (let k = 0; k < K; k++) {
      const a = needU ? rU[k]! : 0;
      const c = needC ? rC[k]! : 0;
      if (a < RESPONSIBILITY_EPSILON && c < RESPONSIBILITY_EPSILON) continue;
      active[nAct] = k * D;
      weight[nAct] = !needC ? a : !needU ? c : a + cfgScale * (c - a);
      nAct++;
    }
    for (let d = 0; d < D; d++) {
      const zd = z[zo + d]!;
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
      x0[zo + d] = s0 + s1;
    }
  }
}

/**
 * Full DDIM with the kernel above, step-major over the batch: returns the images (must equal
 * sampleBatch's bytes) and the z_t fed to the kernel at every step (for timeKernel).
 */
export function sampleWithKernel(s: KernelSetup): { images: Uint8Array; trajectory: Float64Array[] } {
  const B = s.seeds.length;
  const { D, P } = s;
  const z = new Float64Array(B * D);
  s.seeds.forEach((seed, b) => {
    const rng = createRng(seed);
    for (let d = 0; d < D; d++) z[b * D + d] = rng.normal();
  });
  const x0 = new Float64Array(B * D);
  const sc = makeScratch(s.K);
  const trajectory: Float64Array[] = [];
  for (let i = 0; i < s.tables.length; i++) {
    const tb = s.tables[i]!;
    trajectory.push(Float64Array.from(z));
    denoiseStep(s, tb, z, x0, B, sc);
    if (i === s.tables.length - 1) break;
    for (let j = 0; j < B * D; j++) {
      const eps = (z[j]! - tb.sqrtAb * x0[j]!) / tb.sqrt1mAb;
      z[j] = tb.sqrtAbPrev * x0[j]! + tb.sqrt1mAbPrev * eps;
    }
  }
  const images = new Uint8Array(B * P);
  const v = new Float64Array(P);
  for (let b = 0; b < B; b++) {
    v.set(s.mean);
    for (let d = 0; d < D; d++) {
      const zd = x0[b * D + d]!;
      const bo = d * P;
      for (let p = 0; p < P; p++) v[p]! += s.basis[bo + p]! * zd;
    }
    for (let p = 0; p < P; p++) {
      const byte = Math.round((v[p]! + 1) * 127.5);
      images[b * P + p] = byte < 0 ? 0 : byte > 255 ? 255 : byte;
    }
  }
  return { images, trajectory };
}

/** The kernel alone over all steps for the whole batch (inputs: a recorded trajectory). */
export function runKernel(s: KernelSetup, trajectory: readonly Float64Array[]): number {
  const B = s.seeds.length;
  const x0 = new Float64Array(B * s.D);
  const sc = makeScratch(s.K);
  let check = 0;
  for (let i = 0; i < s.tables.length; i++) {
    denoiseStep(s, s.tables[i]!, trajectory[i]!, x0, B, sc);
    check += x0[0]!;
  }
  return check; // keeps the work observable
}
