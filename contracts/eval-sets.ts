// Eval set kinds: where the eval sets every cell is evaluated on come from. The one place to add a
// kind (its images are loaded by core/datasets/eval-images.ts).
import { suiteId } from './spec/ood.js';
import type { SweepSpec } from './spec/sweep.js';
import type { EvalSetSpec } from './types.js';

/** Which dataset each eval set reads, once the plan knows the fingerprints. */
export interface EvalDatasets {
  /**
   * The sweep's own dataset, named on its eval sets only when it is not Fashion-MNIST at 28x28
   * grey (whose eval keys predate datasets: absent means it).
   */
  main?: string;
  /** Per `eval` entry with a dataset of its own (by index): that dataset's fingerprint. */
  own?: Record<number, string>;
}

export interface EvalSetKind {
  /** The eval sets of this kind a spec asks for, in report order. */
  evalSetsOf(spec: SweepSpec, datasets: EvalDatasets): EvalSetSpec[];
}

const withDataset = (dataset: string | undefined) => (dataset ? { dataset } : {});

export const EVAL_SET_KINDS = {
  /** The spec's `eval` entries: a split of the sweep's dataset, or of another dataset with the same classes. */
  split: {
    evalSetsOf: (spec, datasets) =>
      spec.eval.map((entry, i) => ({ name: entry.name, split: entry.split, ...withDataset(entry.dataset ? datasets.own?.[i] : datasets.main) })),
  },
  /**
   * `ood-<suite id>` per OOD suite: the sweep's first clean eval split under a deterministic
   * corruption. Every cell sees the same corrupted images: the shift's seed is the sweep's
   * generation seed, not the cell's.
   */
  ood: {
    evalSetsOf: (spec, datasets) => {
      const split = spec.eval.find((e) => !e.dataset)?.split ?? 'test';
      // `?? []`: specs recorded before OOD suites existed.
      return (spec.ood ?? []).map((s) => ({
        name: `ood-${suiteId(s)}`,
        split,
        ...withDataset(datasets.main),
        shift: { suite: s.suite, severity: s.severity, seed: spec.generation.seed },
      }));
    },
  },
} as const satisfies Record<string, EvalSetKind>;

/** Every eval set a cell is evaluated on: the clean ones, then one per OOD suite. */
export function evalSetsFor(spec: SweepSpec, datasets: EvalDatasets = {}): EvalSetSpec[] {
  return Object.values(EVAL_SET_KINDS).flatMap((kind) => kind.evalSetsOf(spec, datasets));
}

/** The eval sets of a plan from before plans listed them (no OOD suites then): the spec's entries as they were. */
export function legacyEvalSets(spec: SweepSpec): EvalSetSpec[] {
  return spec.eval.map(({ name, split }) => ({ name, split }));
}
