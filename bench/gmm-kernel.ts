// The embedded generator's dominant kernel, timed on its own: per DDIM step and image, the
// log-likelihood of z_t under all K mixture components, the unconditional and conditional
// responsibilities, and the guided posterior mean E[z0 | z_t]. That is the sampler's own
// denoiseStep (activities/generate/gmm/sampler.ts), not a copy; here it runs step-major over a
// batch. `sampleWithKernel` runs the whole sampler that way (same tables, noise, DDIM update and
// decode), which must reproduce sampleBatch byte for byte; the bench checks that before timing.
//
// `runKernel` then runs only the per-step kernel, batched step-major over many images, on z_t
// trajectories recorded from real samples: no RNG, validation, per-item setup, DDIM update or
// decode. It is the part of generation that the sampler cannot avoid.
import { conditionalLogWeights } from '../activities/generate/gmm/conditioning.js';
import type { GmmGeneratorModel, SampleOptions } from '../activities/generate/gmm/model.js';
import { prepare, stepTables, type Prepared } from '../activities/generate/gmm/prepared.js';
import { ddimUpdate, decodeInto, denoiseStep, initialNoise, makeDenoiseScratch, type DenoiseScratch } from '../activities/generate/gmm/sampler.js';
import type { StepTable } from '../activities/generate/gmm/schedule.js';

export interface KernelSetup {
  ready: Prepared;
  tables: StepTable[];
  /** Per item: conditional log weights (null = unconditional). */
  logWeightCond: (Float64Array | null)[];
  cfgScale: number[];
  seeds: string[];
}

export function prepareKernel(model: GmmGeneratorModel, items: readonly SampleOptions[]): KernelSetup {
  const steps = items[0]!.steps;
  if (items.some((it) => it.steps !== steps)) throw new Error('prepareKernel: all items must use the same steps');
  const ready = prepare(model);
  return {
    ready,
    tables: stepTables(model, ready, steps),
    logWeightCond: items.map((it) => (it.classWeights === null ? null : conditionalLogWeights(model, ready, it.classWeights, it.attributes ?? null))),
    cfgScale: items.map((it) => it.cfgScale),
    seeds: items.map((it) => it.seed),
  };
}

/** The kernel over the batch at one step: x0[b] = guided posterior mean given z_t = z[b] (B x D, row-major). */
function denoiseBatch(s: KernelSetup, tb: StepTable, z: Float64Array, x0: Float64Array, sc: DenoiseScratch): void {
  const D = s.ready.D;
  for (let b = 0; b < s.seeds.length; b++) denoiseStep(s.ready, tb, s.logWeightCond[b]!, s.cfgScale[b]!, z, x0, b * D, sc);
}

/**
 * Full DDIM with the kernel above, step-major over the batch: returns the images (must equal
 * sampleBatch's bytes) and the z_t fed to the kernel at every step (for runKernel).
 */
export function sampleWithKernel(s: KernelSetup): { images: Uint8Array; trajectory: Float64Array[] } {
  const B = s.seeds.length;
  const { D, P, K } = s.ready;
  const z = new Float64Array(B * D);
  s.seeds.forEach((seed, b) => initialNoise(seed, z, b * D, D));
  const x0 = new Float64Array(B * D);
  const sc = makeDenoiseScratch(K);
  const trajectory: Float64Array[] = [];
  for (let i = 0; i < s.tables.length; i++) {
    const tb = s.tables[i]!;
    trajectory.push(Float64Array.from(z));
    denoiseBatch(s, tb, z, x0, sc);
    if (i === s.tables.length - 1) break;
    ddimUpdate(tb, z, x0, 0, B * D);
  }
  const images = new Uint8Array(B * P);
  for (let b = 0; b < B; b++) decodeInto(s.ready, x0, b * D, images, b * P);
  return { images, trajectory };
}

/** The kernel alone over all steps for the whole batch (inputs: a recorded trajectory). */
export function runKernel(s: KernelSetup, trajectory: readonly Float64Array[]): number {
  const x0 = new Float64Array(s.seeds.length * s.ready.D);
  const sc = makeDenoiseScratch(s.ready.K);
  let check = 0;
  for (let i = 0; i < s.tables.length; i++) {
    denoiseBatch(s, s.tables[i]!, trajectory[i]!, x0, sc);
    check += x0[0]!;
  }
  return check; // keeps the work observable
}
