// The DDIM schedule of the embedded generator: the DDPM linear beta schedule over 1000 training
// timesteps, the evenly spaced subset a sampler with `steps` steps visits, and per-step tables of
// each mixture component under the noise of that step.
import type { GmmGeneratorModel } from './model.js';

const TRAIN_TIMESTEPS = 1000;
const BETA_START = 1e-4;
const BETA_END = 0.02;

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

export interface StepTable {
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

/** The step tables of `model` for a `steps`-step sampler (K = components, D = PCA dims). */
export function buildStepTables(model: GmmGeneratorModel, K: number, D: number, steps: number): StepTable[] {
  const ts = ddimTimesteps(steps);
  return ts.map((t, i) => {
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
}
