// What the sweep workflow keeps of its adaptive loop (carried across continue-as-new: counters and
// storage URIs, never cell results), the `steer` update's input, and the decision activity's I/O.
// Zod-free, so workflow code can import it.
import type { AdaptiveDecision, AdaptiveSpec, AdaptiveTarget, CellRef, TargetInterval } from './adaptive.js';
import { adaptiveSpecIssues } from './adaptive.js';
import type { SweepSpec } from './spec/sweep.js';
import type { EvalSetSpec, SourceSummary } from './types.js';

export type { AdaptiveDecision, AdaptiveTarget, CellRef, TargetInterval } from './adaptive.js';

export type AdaptiveBudget = AdaptiveSpec['budget'];

export interface AdaptiveRunState {
  /** Decisions taken (round 0 is the first grid, decided by the spec). */
  round: number;
  /** Each round's stored decision, in order: what the analysis and the report read the added cells from. */
  decisionUris: string[];
  /** The targets and budget now (the spec's, or as last steered). */
  targets: AdaptiveTarget[];
  budget: AdaptiveBudget;
  cellsAdded: number;
  /** The intervals the last decision measured, against their targets (for status and the UI). */
  intervals: TargetInterval[];
  stop: AdaptiveDecision['stop'];
}

/** `synthscale sweep steer`: new targets (replacing the current ones) and/or a new budget. */
export interface AdaptiveSteer {
  targets?: AdaptiveTarget[];
  budget?: AdaptiveBudget;
}

export interface SteerResult {
  round: number;
  targets: AdaptiveTarget[];
  budget: AdaptiveBudget;
}

/** What is wrong with a steer against the sweep's spec (its sources, sizes, seeds), as adaptiveSpecIssues says. */
export function adaptiveSteerIssues(spec: SweepSpec, steer: AdaptiveSteer): { path: (string | number)[]; message: string }[] {
  if (!spec.adaptive) return [{ path: ['adaptive'], message: 'the sweep has no adaptive block' }];
  if (!steer.targets && !steer.budget) return [{ path: [], message: 'nothing to change: give targets and/or a budget' }];
  if (steer.targets && steer.targets.length === 0) return [{ path: ['targets'], message: 'at least one target' }];
  const next: AdaptiveSpec = { ...spec.adaptive, ...(steer.targets ? { targets: steer.targets } : {}), ...(steer.budget ? { budget: steer.budget } : {}) };
  return adaptiveSpecIssues(spec, next);
}

/** The decision activity's input: the sweep so far and the targets and budget now. */
export interface DecideInput {
  sweepId: string;
  spec: SweepSpec;
  sources: SourceSummary[];
  evalSets?: EvalSetSpec[];
  /** Earlier rounds' decisions: the cells they added. */
  decisionUris: string[];
  round: number;
  targets: AdaptiveTarget[];
  budget: AdaptiveBudget;
  /** Wall-clock hours since the sweep started (the hours budget). */
  hoursSpent: number;
}

export interface DecideOutput {
  decisionUri: string;
  cells: CellRef[];
  intervals: TargetInterval[];
  stop: AdaptiveDecision['stop'];
  cached: boolean;
}

/** A stored round: the decision, and what it was taken on. */
export interface DecisionDocument {
  sweepId: string;
  round: number;
  targets: AdaptiveTarget[];
  budget: AdaptiveBudget;
  decision: AdaptiveDecision;
}
