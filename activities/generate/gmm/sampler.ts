// The embedded generator's sampler: DDIM (eta = 0) in PCA space whose denoiser is the closed-form
// posterior mean of the fitted mixture under Gaussian noise, with classifier-free guidance between
// the prompt's (conditional) mixture weights and the unconditional ones. Plain JS on the CPU,
// deterministic given its inputs. The kernel pieces (initialNoise, denoiseStep, ddimUpdate,
// decodeInto) are exported so the bench (bench/gmm-kernel.ts) times this very code.
import { createRng } from '../../../core/rng.js';
import { conditionalLogWeights } from './conditioning.js';
import { weightedSqDist } from './linalg.js';
import type { GmmGeneratorModel, PromptAttributes, SampleOptions } from './model.js';
import { prepare, stepTables, type Prepared } from './prepared.js';
import type { StepTable } from './schedule.js';

/** Mixture components whose responsibility is below this are skipped when forming posterior means. */
const RESPONSIBILITY_EPSILON = 1e-12;

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

/** Per-component buffers of denoiseStep ([K] each), reused across steps and images. */
export interface DenoiseScratch {
  logLik: Float64Array;
  rU: Float64Array;
  rC: Float64Array;
  /** Offsets (k * D) of the components that matter at this step, and their guided weights. */
  active: Int32Array;
  weight: Float64Array;
}

export function makeDenoiseScratch(K: number): DenoiseScratch {
  return {
    logLik: new Float64Array(K),
    rU: new Float64Array(K),
    rC: new Float64Array(K),
    active: new Int32Array(K),
    weight: new Float64Array(K),
  };
}

/** One image's latent (z) and denoised estimate (x0), [D] each, besides the per-component buffers. */
interface Scratch extends DenoiseScratch {
  z: Float64Array;
  x0: Float64Array;
}

function validateOptions(opts: SampleOptions): void {
  if (!Number.isFinite(opts.cfgScale) || opts.cfgScale < 0) throw new RangeError(`cfgScale must be finite and >= 0, got ${opts.cfgScale}`);
  if (typeof opts.seed !== 'string') throw new TypeError('seed must be a string');
}

/** The initial noise of the sample seeded by `seed`, into z[zo, zo + D). */
export function initialNoise(seed: string, z: Float64Array, zo: number, D: number): void {
  const rng = createRng(seed);
  for (let d = 0; d < D; d++) z[zo + d] = rng.normal();
}

/**
 * The sampler's kernel, one step of one image: x0[zo, zo + D) = the guided posterior mean
 * E[z0 | z_t = z[zo, zo + D)]. logWeightCond null is unconditional whatever the cfgScale.
 */
export function denoiseStep(
  ready: Prepared,
  tb: StepTable,
  logWeightCond: Float64Array | null,
  cfgScale: number,
  z: Float64Array,
  x0: Float64Array,
  zo: number,
  s: DenoiseScratch,
): void {
  const { K, D, logWeightUncond } = ready;
  const { logLik, rU, rC, active, weight } = s;
  const conditional = logWeightCond !== null;
  // cfgScale 1 is exactly the conditional model and 0 exactly the unconditional one.
  const needU = !conditional || cfgScale !== 1;
  const needC = conditional && cfgScale !== 0;
  const { shiftedMean, invVar, gain, logNorm } = tb;
  // log N(z; sqrt(ab) mu_k, ab var_k + 1 - ab), up to a shared constant.
  for (let k = 0; k < K; k++) {
    // Without the unconditional term, components outside the prompt's classes have weight 0.
    logLik[k] = !needU && logWeightCond![k] === -Infinity ? 0 : logNorm[k]! - 0.5 * weightedSqDist(z, zo, shiftedMean, k * D, invVar, D);
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

/** The DDIM (eta = 0) update from step tb to the next, for z[from, to) given x0[from, to). */
export function ddimUpdate(tb: StepTable, z: Float64Array, x0: Float64Array, from: number, to: number): void {
  const { sqrtAb, sqrt1mAb, sqrtAbPrev, sqrt1mAbPrev } = tb;
  for (let j = from; j < to; j++) {
    const eps = (z[j]! - sqrtAb * x0[j]!) / sqrt1mAb;
    z[j] = sqrtAbPrev * x0[j]! + sqrt1mAbPrev * eps;
  }
}

/** Pixels of mean + basis^T x0[x0o, x0o + D), mapped from [-1, 1] to bytes with clamping. */
export function decodeInto(ready: Prepared, x0: Float64Array, x0o: number, out: Uint8Array, outOffset: number): void {
  const { D, P, mean, basis, pixelsScratch: v } = ready;
  v.set(mean);
  for (let d = 0; d < D; d++) {
    const zd = x0[x0o + d]!;
    const bo = d * P;
    for (let p = 0; p < P; p++) v[p]! += basis[bo + p]! * zd;
  }
  for (let p = 0; p < P; p++) {
    const byte = Math.round((v[p]! + 1) * 127.5);
    out[outOffset + p] = byte < 0 ? 0 : byte > 255 ? 255 : byte;
  }
}

/** Run the DDIM sampler for one image, writing model.pixels bytes (HWC) into out at offset. */
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
  const { D } = ready;
  const { z, x0 } = s;
  initialNoise(seed, z, 0, D);
  for (let i = 0; i < tables.length; i++) {
    const tb = tables[i]!;
    denoiseStep(ready, tb, logWeightCond, cfgScale, z, x0, 0, s);
    if (i === tables.length - 1) break;
    ddimUpdate(tb, z, x0, 0, D);
  }
  decodeInto(ready, x0, 0, out, outOffset);
}

/**
 * One image (model.pixels bytes at model.geometry: 784 grey bytes at 28x28) by DDIM (eta = 0) in PCA space with the closed-form mixture
 * denoiser and classifier-free guidance. classWeights null gives an unconditional sample whatever
 * the cfgScale. Deterministic given (model, opts).
 */
export function sampleImage(model: GmmGeneratorModel, opts: SampleOptions): Uint8Array {
  return sampleBatch(model, [opts]);
}

/** Many images, concatenated (items.length * model.pixels bytes); equal to calling sampleImage on each. */
export function sampleBatch(model: GmmGeneratorModel, items: readonly SampleOptions[]): Uint8Array {
  const ready = prepare(model);
  const out = new Uint8Array(items.length * ready.P);
  const scratch: Scratch = { ...makeDenoiseScratch(ready.K), z: new Float64Array(ready.D), x0: new Float64Array(ready.D) };
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
