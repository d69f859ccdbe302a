// What the analysis stage produces and the report stage reads: per-source scaling curves, fits and
// comparisons. Plain JSON (no class instances, no NaN/Infinity), so it can be stored and re-read.
import type { CellMetrics, SourceSummary } from './types.js';
import { CLIP_CURVE_PREFIX, TASKS } from './tasks.js';
import type { OffsetFit, PowerLawFit } from '../core/stats/powerlaw.js';
import type { MeanCI } from '../core/stats/student-t.js';
import type { MonotoneOptions, MonotoneViolation } from '../core/stats/monotone.js';
import type { Correlation } from '../core/stats/recognizability.js';

/** The curve (and analysed source) a source's CLIP cells make: `clip:<source>` (contracts/tasks.ts). */
export function clipCurveName(source: string): string {
  return TASKS.clip.curveName(source);
}

/** Whether a curve or analysed source is a CLIP one. */
export function isClipCurve(name: string): boolean {
  return name.startsWith(CLIP_CURVE_PREFIX);
}

/** The source a CLIP curve was trained on (the name without its `clip:` prefix). */
export function clipCurveSource(name: string): string {
  return name.slice(CLIP_CURVE_PREFIX.length);
}

export type ScalingMetric = 'loss' | 'error';

export interface PerNAggregate {
  /** Number of training images. */
  n: number;
  /** Number of seeds (cells) aggregated. */
  seeds: number;
  loss: MeanCI;
  /** Top-1 error, 1 - accuracy. */
  error: MeanCI;
  accuracy: MeanCI;
  ece: MeanCI;
  /** CLIP: zero-shot accuracy with the single template (accuracy above is the template ensemble's). */
  singleTemplateAccuracy?: MeanCI;
  /** CLIP, clean eval sets: linear-probe accuracy of the frozen image trunk. */
  probeAccuracy?: MeanCI;
}

export interface ReliablePowerLawFit extends PowerLawFit {
  /** True when the slope should not be read as a scaling exponent (non-monotone curve, or b <= 0). */
  unreliable: boolean;
  reason?: string;
}

export interface MetricScaling {
  metric: ScalingMetric;
  /** Per-N means never rise with N (beyond the tolerance in SweepAnalysis.settings). */
  monotone: boolean;
  violations: MonotoneViolation[];
  /** Plain power law y = a N^-b over all per-seed points; null when it could not be fitted (see fitError). */
  fit: ReliablePowerLawFit | null;
  fitError?: string;
  /** y = c + a N^-b over all per-seed points; null when it could not be fitted (see offsetFitError). */
  offsetFit: OffsetFit | null;
  offsetFitError?: string;
  /** Headline scaling exponent b; null when the fit is missing or unreliable. */
  scalingSlope: number | null;
  /** Headline 95% CI of b, when scalingSlope is reported and the CI is available. */
  scalingSlopeCI95: [number, number] | null;
  unreliable: boolean;
  reason?: string;
}

export interface CurveAnalysis {
  source: string;
  kind: 'real' | 'real-pairs' | 'synthetic' | 'mixed' | 'control' | 'unknown';
  description: string;
  evalSet: string;
  /** Sorted by N. */
  perN: PerNAggregate[];
  loss: MetricScaling;
  error: MetricScaling;
  lossMonotone: boolean;
  errorMonotone: boolean;
  warnings: string[];
}

export interface AccuracyGap {
  n: number;
  /** Mean accuracy of the synthetic source. */
  accuracy: number;
  /** Mean accuracy of the real source. */
  realAccuracy: number;
  /** accuracy - realAccuracy (negative: synthetic is behind). */
  gap: number;
}

export interface SourceComparison {
  source: string;
  realSource: string;
  evalSet: string;
  /** b_error(synthetic) / b_error(real); null when either headline slope is missing. */
  errorSlopeRatio: number | null;
  /** b_loss(synthetic) / b_loss(real); null when either headline slope is missing. */
  lossSlopeRatio: number | null;
  /** Why a ratio is null, when it is. */
  notes: string[];
  /** At each N both sources share. */
  accuracyGap: AccuracyGap[];
  /**
   * Effective real-data equivalent at each N of this source: how many real images reach the same
   * loss (or error), from the real source's fitted power law y = a N^-b inverted at this source's
   * mean. null where the real fit is missing or unreliable; `extrapolated` when outside the real
   * curve's measured N range.
   */
  effectiveRealN: { n: number; byLoss: number | null; byError: number | null; extrapolated: boolean }[];
}

export interface AnalyzeOptions {
  /** Tolerance of the monotonicity check; default { relTolerance: 0.01, seMultiplier: 2 }. */
  monotone?: MonotoneOptions;
  /** Per synthetic source, the judge's per-class recognizability (see recognizability.ts). */
  recognizability?: { source: string; overall: number; judgeTestAccuracy: number | null; classes: string[]; perClass: (number | null)[] }[];
}

/** A synthetic source's recognizability next to its per-class accuracy gap to real data. */
export interface RecognizabilityAnalysis {
  source: string;
  overall: number;
  judgeTestAccuracy: number | null;
  /** The N and eval set the per-class gaps are taken at (the largest N both sources have, clean eval). */
  n: number | null;
  evalSet: string | null;
  perClass: { className: string; recognizability: number | null; accuracy: number | null; realAccuracy: number | null; gap: number | null }[];
  /** Across classes: recognizability vs gap (synthetic - real per-class accuracy). */
  correlation: Correlation;
}

/** A mixed source's accuracy over real-only at the same real N (the paper: largest when real data is scarce). */
export interface MixingGain {
  source: string;
  realSource: string;
  evalSet: string;
  gains: { n: number; accuracy: number; realAccuracy: number; gain: number }[];
}

export interface SweepAnalysis {
  version: 1;
  sources: SourceSummary[];
  /** The real source used for comparisons (the first real source in `sources` with cells), if any. */
  realSource: string | null;
  evalSets: string[];
  sizes: number[];
  seeds: number[];
  cellCount: number;
  curves: CurveAnalysis[];
  comparisons: SourceComparison[];
  recognizability: RecognizabilityAnalysis[];
  mixing: MixingGain[];
  warnings: string[];
  settings: {
    monotone: MonotoneOptions;
    /** How the per-N CIs are computed. */
    ci: string;
    /** What the fits run on. */
    fitPoints: string;
  };
}

export interface AnalysisDocument {
  sweepId: string;
  cells: CellMetrics[];
  sources: SourceSummary[];
  analysis: SweepAnalysis;
}
