// Eval set kinds: where the eval sets every cell is evaluated on come from. The one place to add a
// kind (its images are loaded by core/datasets/eval-images.ts).
import { suiteId } from './spec/ood.js';
import type { SweepSpec } from './spec/sweep.js';
import type { EvalSetSpec } from './types.js';

export interface EvalSetKind {
  /** The eval sets of this kind a spec asks for, in report order. */
  evalSetsOf(spec: SweepSpec): EvalSetSpec[];
}

export const EVAL_SET_KINDS = {
  /** The spec's `eval` entries: a clean split of the sweep's dataset. */
  split: { evalSetsOf: (spec) => spec.eval },
  /**
   * `ood-<suite id>` per OOD suite: the test split under a deterministic corruption. Every cell sees
   * the same corrupted images: the shift's seed is the sweep's generation seed, not the cell's.
   */
  ood: {
    evalSetsOf: (spec) =>
      spec.ood.map((s) => ({ name: `ood-${suiteId(s)}`, split: 'test' as const, shift: { suite: s.suite, severity: s.severity, seed: spec.generation.seed } })),
  },
} as const satisfies Record<string, EvalSetKind>;

/** Every eval set a cell is evaluated on: the clean ones, then one per OOD suite. */
export function evalSetsFor(spec: SweepSpec): EvalSetSpec[] {
  return Object.values(EVAL_SET_KINDS).flatMap((kind) => kind.evalSetsOf(spec));
}
