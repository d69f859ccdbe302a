// Per-model tables the sampler derives once (cached per model object) and per step count.
import { componentFeatureZ } from './features.js';
import type { GmmGeneratorModel } from './model.js';
import { validateGmmModel } from './model-format.js';
import { buildStepTables, type StepTable } from './schedule.js';

export interface Prepared {
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
export function prepare(model: GmmGeneratorModel): Prepared {
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

/** The step tables for `steps` steps (a few step counts are cached per model). */
export function stepTables(model: GmmGeneratorModel, ready: Prepared, steps: number): StepTable[] {
  let tables = ready.tables.get(steps);
  if (tables) return tables;
  tables = buildStepTables(model, ready.K, ready.D, steps);
  if (ready.tables.size >= 8) ready.tables.clear();
  ready.tables.set(steps, tables);
  return tables;
}
