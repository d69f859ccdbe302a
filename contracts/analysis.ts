// What the analysis stage produces and the report stage reads: per-source scaling curves, fits and
// comparisons. Plain JSON (no class instances, no NaN/Infinity), so it can be stored and re-read.
import type { CellMetrics, SourceSummary } from './types.js';
import { CLIP_CURVE_PREFIX, TASKS } from './tasks.js';
import type { OffsetFit, PowerLawFit } from '../core/stats/powerlaw.js';
import type { MeanCI } from '../core/stats/student-t.js';
import type { MonotoneOptions, MonotoneViolation } from '../core/stats/monotone.js';
import type { Correlation } from '../core/stats/recognizability.js';
import type { PercentileInterval } from '../core/stats/bootstrap.js';
import type { DiversityMetrics } from '../core/stats/diversity.js';
import type { SweepSpec } from './spec/sweep.js';
import type { DecisionDocument } from './adaptive-run.js';

export type { PercentileInterval } from '../core/stats/bootstrap.js';

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

/** Fit without the largest N, predicting it: how well the curve extrapolates one step. */
export interface HoldoutCheck {
  /** The held-out (largest) N. */
  n: number;
  predicted: number;
  /** The mean over seeds at n. */
  actual: number;
  /** (predicted - actual) / actual. */
  relativeError: number;
}

export interface MetricScaling {
  metric: ScalingMetric;
  /** Per-N means never rise with N (beyond the tolerance in SweepAnalysis.settings). */
  monotone: boolean;
  violations: MonotoneViolation[];
  /**
   * Plain power law y = a N^-b fitted to the per-N means (one point per distinct N, so its slope CI
   * has distinct N - 2 degrees of freedom); null when it could not be fitted (see fitError).
   */
  fit: ReliablePowerLawFit | null;
  fitError?: string;
  /** Bootstrap over seeds (resampled within each N, refitted): 95% percentile interval of b. */
  slopeBootstrapCI95: PercentileInterval | null;
  /** The plain fit without the largest N, predicting it (null with fewer than 3 distinct N). */
  holdout: HoldoutCheck | null;
  /** y = c + a N^-b by least squares on the per-N means; null when it could not be fitted (see offsetFitError). */
  offsetFit: OffsetFit | null;
  offsetFitError?: string;
  /** Bootstrap 95% interval of the offset fit's exponent; an end is null where draws hit its search bound or failed. */
  offsetExponentCI95: PercentileInterval | null;
  /** The offset fit's exponent is not identified: its interval is unbounded (or there are fewer than 4 distinct N). */
  offsetUnidentified: boolean;
  /** Headline scaling exponent b; null when the fit is missing, unreliable or fails a quality gate. */
  scalingSlope: number | null;
  /** Headline 95% CI of b (Student-t on the per-N means fit), when scalingSlope is reported. */
  scalingSlopeCI95: [number, number] | null;
  unreliable: boolean;
  reason?: string;
  /** Why the headline slope is withheld, as tags (empty when it is reported); `reason` says it in words. */
  withheldBy: WithholdReason[];
}

/** A headline slope is withheld when the curve rises, does not decay, has no fit, or fails a quality gate. */
export type WithholdReason = 'not-monotone' | 'no-decay' | 'no-fit' | 'few-sizes' | 'narrow-span' | 'poor-fit';

export interface CurveAnalysis {
  source: string;
  kind: 'real' | 'real-pairs' | 'synthetic' | 'mixed' | 'control' | 'unknown';
  description: string;
  evalSet: string;
  /** Sorted by N. */
  perN: PerNAggregate[];
  /** What the quality gates read: distinct N and the span of N in decades (log10 max/min). */
  span: { distinctN: number; decades: number };
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
  /** Bootstrap 95% interval of the gap (each source's seeds resampled independently). */
  ci95: PercentileInterval;
}

export interface SourceComparison {
  source: string;
  realSource: string;
  evalSet: string;
  /** b_error(synthetic) / b_error(real); null when either headline slope is missing. */
  errorSlopeRatio: number | null;
  /** b_loss(synthetic) / b_loss(real); null when either headline slope is missing. */
  lossSlopeRatio: number | null;
  /** Bootstrap 95% intervals of the ratios (paired draws: each source's seeds resampled independently). */
  errorSlopeRatioCI95: PercentileInterval | null;
  lossSlopeRatioCI95: PercentileInterval | null;
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
  effectiveRealN: {
    n: number;
    byLoss: number | null;
    byError: number | null;
    extrapolated: boolean;
    /** Bootstrap 95% intervals (the real fit and this source's mean redrawn together). */
    byLossCI95: PercentileInterval | null;
    byErrorCI95: PercentileInterval | null;
  }[];
}

/** Diversity and fidelity of a source's images against real ones in one feature space (core/stats/diversity.ts). */
export type DiversityMeasures = DiversityMetrics;

/** The analysis settings a spec gives (spec.analysis): bootstrap draws and seed, and the quality gates. */
export type AnalysisSettings = SweepSpec['analysis'];

/** spec.analysis's defaults. */
export const DEFAULT_ANALYSIS_SETTINGS: AnalysisSettings = { bootstrapDraws: 2000, bootstrapSeed: 0, minSizes: 5, minDecades: 1.5, minR2: 0.9 };

export interface AnalyzeOptions {
  /** Tolerance of the monotonicity check; default { relTolerance: 0.01, seMultiplier: 2 }. */
  monotone?: MonotoneOptions;
  /** Per synthetic source, the judge's per-class recognizability (see recognizability.ts), and diversity where measured. */
  recognizability?: {
    source: string;
    overall: number;
    judgeTestAccuracy: number | null;
    classes: string[];
    perClass: (number | null)[];
    diversity?: DiversityMeasures;
  }[];
  /** Bootstrap and quality gates (spec.analysis); default DEFAULT_ANALYSIS_SETTINGS. */
  analysis?: Partial<AnalysisSettings>;
  /** What a seed redraws (spec.seedDraws); default 'init', as for specs that predate the field. */
  seedDraws?: SweepSpec['seedDraws'];
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
  /** Diversity and fidelity against real images, when the recognizability stage measured them. */
  diversity?: DiversityMeasures;
}

/** A mixed source's accuracy over real-only at the same real N (the paper: largest when real data is scarce). */
export interface MixingGain {
  source: string;
  realSource: string;
  evalSet: string;
  gains: { n: number; accuracy: number; realAccuracy: number; gain: number; ci95: PercentileInterval }[];
}

/** How a claim fared: its interval excludes the null on the claim's side, on the other side, neither, or it cannot be measured here. */
export type Verdict = 'supported' | 'contradicted' | 'inconclusive' | 'not-testable';

/** The paper's findings this sweep can test. */
export type FindingClaim = 'slopes-below-real' | 'cfg-optimum' | 'clip-closes-gap' | 'helps-ood' | 'helps-when-scarce' | 'helps-in-mix';

/** The report section that holds a finding's evidence. */
export type EvidenceSection = 'comparison' | 'cfg' | 'clip' | 'ood' | 'mixing';

/** One measured number behind a finding, with its bootstrap interval and, where it decides, its verdict. */
export interface FindingEvidence {
  /** What was compared, e.g. "synth-cfg2 vs real". */
  label: string;
  /** What the value is, e.g. "error slope ratio". */
  measure: string;
  value: number | null;
  ci95: PercentileInterval | null;
  verdict?: Verdict;
  note?: string;
}

export interface Finding {
  claim: FindingClaim;
  /** The claim in words. */
  statement: string;
  verdict: Verdict;
  /** Why this verdict, in one sentence. */
  reason: string;
  evidence: FindingEvidence[];
  section: EvidenceSection;
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
  /** Each of the paper's claims as this sweep tested it (activities/analyze/findings.ts). */
  findings: Finding[];
  warnings: string[];
  settings: {
    monotone: MonotoneOptions;
    /** How the per-N CIs are computed. */
    ci: string;
    /** What the fits run on. */
    fitPoints: string;
    /** How the slope, ratio, gap and real-data-equivalent intervals are computed, in one sentence. */
    intervals: string;
    /** What a seed redraws, and so which variance the intervals cover. */
    seedDraws: SweepSpec['seedDraws'];
    variance: string;
    /** Bootstrap draws and seed, and the quality gates a headline slope must pass. */
    analysis: AnalysisSettings;
  };
}

export interface AnalysisDocument {
  sweepId: string;
  cells: CellMetrics[];
  sources: SourceSummary[];
  analysis: SweepAnalysis;
  /** spec.adaptive: every round's decision, in order (the report tells the loop's story from them). */
  adaptive?: { decisions: DecisionDocument[] };
}
