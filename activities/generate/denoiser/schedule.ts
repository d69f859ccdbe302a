// The denoiser's noise schedule is the Gaussian-mixture generator's (../gmm/schedule.ts): the DDPM
// linear beta schedule over 1000 timesteps and the same evenly spaced DDIM timesteps. Its step
// tables are taken from buildStepTables for a model with no components, whose per-step scalars
// (sqrt(alpha-bar) and sqrt(1 - alpha-bar) at the step and the next) are all a neural denoiser needs.
import type { GmmGeneratorModel } from '../gmm/model.js';
import { buildStepTables, ddimTimesteps, type StepTable } from '../gmm/schedule.js';

export const TRAIN_TIMESTEPS = 1000;

// With 0 components buildStepTables never reads the model; only its schedule scalars are used.
const NO_COMPONENTS = {} as GmmGeneratorModel;

/** The DDIM step tables for `steps` steps (cached per step count). */
const tables = new Map<number, readonly StepTable[]>();
export function denoiserStepTables(steps: number): readonly StepTable[] {
  let out = tables.get(steps);
  if (!out) {
    out = buildStepTables(NO_COMPONENTS, 0, 0, steps);
    if (tables.size >= 16) tables.clear();
    tables.set(steps, out);
  }
  return out;
}

export interface NoiseLevels {
  /** [TRAIN_TIMESTEPS] sqrt(alpha-bar_t). */
  sqrtAb: Float64Array;
  /** [TRAIN_TIMESTEPS] sqrt(1 - alpha-bar_t). */
  sqrt1mAb: Float64Array;
}

/** Per training timestep t (0..999): x_t = sqrtAb[t] x_0 + sqrt1mAb[t] eps. */
export const NOISE_LEVELS: NoiseLevels = (() => {
  const sqrtAb = new Float64Array(TRAIN_TIMESTEPS);
  const sqrt1mAb = new Float64Array(TRAIN_TIMESTEPS);
  // A sampler of TRAIN_TIMESTEPS steps visits every timestep, T-1 down to 0.
  const ts = ddimTimesteps(TRAIN_TIMESTEPS);
  denoiserStepTables(TRAIN_TIMESTEPS).forEach((tb, i) => {
    sqrtAb[ts[i]!] = tb.sqrtAb;
    sqrt1mAb[ts[i]!] = tb.sqrt1mAb;
  });
  return { sqrtAb, sqrt1mAb };
})();

export { ddimTimesteps, type StepTable };
