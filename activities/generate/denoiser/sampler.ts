// The denoiser's sampler: DDIM (eta = 0) over the Gaussian-mixture generator's schedule and
// timesteps (schedule.ts), in whitened PCA space, with classifier-free guidance
// eps = eps_u + s (eps_c - eps_u) between the network's null-condition and prompt-condition
// predictions; x0 estimates are clipped to +-X0_CLIP standard deviations, then decoded through the
// PCA basis to bytes at the model's geometry. Plain JS (network.ts): deterministic given
// (model, options), and an item's bytes do not depend on the batch it is sampled in.
import type { SampleOptions } from '../gmm/model.js';
import { ddimUpdate, initialNoise } from '../gmm/sampler.js';
import { latentScale, type DenoiserGeneratorModel } from './model.js';
import { validateDenoiserModel } from './model-format.js';
import { condPart, conditionVector, firstLayerBase, forwardFromBase, prepareNetwork, timePart, type Network } from './network.js';
import { ddimTimesteps, denoiserStepTables } from './schedule.js';

/** |x0| bound per whitened coordinate (real data lies well inside; it stops t ~ T blow-ups). */
export const X0_CLIP = 6;
/** Items sampled together (rows of the network's matrices: twice this under guidance). */
export const SAMPLE_BATCH = 32;

export type { SampleOptions };

interface Ready {
  net: Network;
  D: number;
  P: number;
  scale: Float64Array;
  mean: Float64Array;
  basis: Float64Array;
}

const prepared = new WeakMap<DenoiserGeneratorModel, Ready>();

function prepare(model: DenoiserGeneratorModel): Ready {
  let ready = prepared.get(model);
  if (ready) return ready;
  validateDenoiserModel(model);
  ready = {
    net: prepareNetwork(model),
    D: model.pcaDims,
    P: model.pixels,
    scale: latentScale(model.eigenvalues),
    mean: Float64Array.from(model.mean),
    basis: Float64Array.from(model.basis),
  };
  prepared.set(model, ready);
  return ready;
}

/** Which predictions an item needs: cfgScale 0 is exactly the unconditional one, 1 exactly the conditional one. */
interface Branches {
  uncond: boolean;
  cond: boolean;
  scale: number;
  /** First-layer condition parts [H] of the null and the prompt condition. */
  nullPart: Float64Array;
  condPart: Float64Array | null;
}

function branchesOf(ready: Ready, opts: SampleOptions, nullPart: Float64Array): Branches {
  if (!Number.isFinite(opts.cfgScale) || opts.cfgScale < 0) throw new RangeError(`cfgScale must be finite and >= 0, got ${opts.cfgScale}`);
  if (typeof opts.seed !== 'string') throw new TypeError('seed must be a string');
  const { net } = ready;
  if (opts.classWeights === null) return { uncond: true, cond: false, scale: 0, nullPart, condPart: null };
  const v = new Float64Array(net.K);
  conditionVector(opts.classWeights, opts.attributes ?? null, net.C, v);
  return { uncond: opts.cfgScale !== 1, cond: opts.cfgScale !== 0, scale: opts.cfgScale, nullPart, condPart: condPart(net, v, 0) };
}

/**
 * Guided eps for items at whitened latents x [n * D] and timestep t: one forward pass over the
 * rows each item needs (null condition, prompt condition or both), then eps_u + s (eps_c - eps_u).
 */
function guidedEpsRows(ready: Ready, branches: readonly Branches[], x: Float64Array, t: number): Float64Array {
  const { net, D } = ready;
  const H = net.layers[0]!.outDims;
  const time = timePart(net, t);
  const rowsOf: { item: number; cond: boolean }[] = [];
  branches.forEach((b, i) => {
    if (b.uncond) rowsOf.push({ item: i, cond: false });
    if (b.cond) rowsOf.push({ item: i, cond: true });
  });
  const rows = rowsOf.length;
  const xs = new Float64Array(rows * D);
  const base = new Float64Array(rows * H);
  rowsOf.forEach(({ item, cond }, r) => {
    xs.set(x.subarray(item * D, (item + 1) * D), r * D);
    const b = branches[item]!;
    firstLayerBase(net, time, cond ? b.condPart! : b.nullPart, base, r * H);
  });
  const eps = forwardFromBase(net, xs, rows, base);
  const out = new Float64Array(branches.length * D);
  let r = 0;
  branches.forEach((b, i) => {
    const u = b.uncond ? r++ : -1;
    const c = b.cond ? r++ : -1;
    for (let d = 0; d < D; d++) {
      const eu = u >= 0 ? eps[u * D + d]! : 0;
      const ec = c >= 0 ? eps[c * D + d]! : 0;
      out[i * D + d] = u < 0 ? ec : c < 0 ? eu : eu + b.scale * (ec - eu);
    }
  });
  return out;
}

/**
 * The guided eps of the model for latents x [items.length * D] (whitened PCA coordinates) at
 * timestep t, each item with its own condition and cfgScale: what the sampler uses at each step
 * (exported for tests and benchmarks).
 */
export function guidedEps(model: DenoiserGeneratorModel, items: readonly Pick<SampleOptions, 'classWeights' | 'attributes' | 'cfgScale'>[], x: Float64Array, t: number): Float64Array {
  const ready = prepare(model);
  const nullPart = nullConditionPart(ready);
  const branches = items.map((o) => branchesOf(ready, { ...o, steps: 1, seed: '' }, nullPart));
  if (x.length !== items.length * ready.D) throw new RangeError(`x has ${x.length} values for ${items.length} items of ${ready.D}`);
  return guidedEpsRows(ready, branches, x, t);
}

function nullConditionPart(ready: Ready): Float64Array {
  const v = new Float64Array(ready.net.K);
  conditionVector(null, null, ready.net.C, v);
  return condPart(ready.net, v, 0);
}

/** One image (model.pixels bytes, HWC at model.geometry). Deterministic given (model, opts). */
export function sampleImage(model: DenoiserGeneratorModel, opts: SampleOptions): Uint8Array {
  return sampleBatch(model, [opts]);
}

/** Many images, concatenated; equal, byte for byte, to calling sampleImage on each. */
export function sampleBatch(model: DenoiserGeneratorModel, items: readonly SampleOptions[]): Uint8Array {
  const ready = prepare(model);
  const out = new Uint8Array(items.length * ready.P);
  const nullPart = nullConditionPart(ready);
  // Items of a batch walk the same timesteps together: group them by step count.
  const bySteps = new Map<number, number[]>();
  items.forEach((opts, i) => {
    const list = bySteps.get(opts.steps) ?? [];
    list.push(i);
    bySteps.set(opts.steps, list);
  });
  for (const [steps, indices] of bySteps) {
    for (let start = 0; start < indices.length; start += SAMPLE_BATCH) {
      const chunk = indices.slice(start, start + SAMPLE_BATCH);
      sampleChunk(ready, steps, chunk.map((i) => items[i]!), nullPart, (x0, k) => decodeInto(ready, x0, k * ready.D, out, chunk[k]! * ready.P));
    }
  }
  return out;
}

function sampleChunk(ready: Ready, steps: number, items: readonly SampleOptions[], nullPart: Float64Array, emit: (x0: Float64Array, k: number) => void): void {
  const { D } = ready;
  const tables = denoiserStepTables(steps);
  const branches = items.map((o) => branchesOf(ready, o, nullPart));
  const n = items.length;
  const z = new Float64Array(n * D);
  const x0 = new Float64Array(n * D);
  items.forEach((o, k) => initialNoise(o.seed, z, k * D, D));
  const ts = ddimTimesteps(steps);
  for (let i = 0; i < tables.length; i++) {
    const tb = tables[i]!;
    const eps = guidedEpsRows(ready, branches, z, ts[i]!);
    for (let j = 0; j < n * D; j++) {
      const x = (z[j]! - tb.sqrt1mAb * eps[j]!) / tb.sqrtAb;
      x0[j] = x > X0_CLIP ? X0_CLIP : x < -X0_CLIP ? -X0_CLIP : x;
    }
    if (i === tables.length - 1) break;
    ddimUpdate(tb, z, x0, 0, n * D);
  }
  for (let k = 0; k < n; k++) emit(x0, k);
}

/** Pixels of mean + basis^T (scale * x0[o, o + D)), mapped from [-1, 1] to bytes with clamping (as the GMM's decode). */
export function decodeInto(ready: Pick<Ready, 'D' | 'P' | 'scale' | 'mean' | 'basis'>, x0: Float64Array, o: number, out: Uint8Array, outOffset: number): void {
  const { D, P, scale, mean, basis } = ready;
  const v = Float64Array.from(mean);
  for (let d = 0; d < D; d++) {
    const zd = x0[o + d]! * scale[d]!;
    const bo = d * P;
    for (let p = 0; p < P; p++) v[p]! += basis[bo + p]! * zd;
  }
  for (let p = 0; p < P; p++) {
    const byte = Math.round((v[p]! + 1) * 127.5);
    out[outOffset + p] = byte < 0 ? 0 : byte > 255 ? 255 : byte;
  }
}
