// Turns per-cell metrics of a sweep into per-source scaling curves, power-law fits and comparisons to real data.
//
// Following the paper's measuring pitfall: the test cross-entropy of a model trained on synthetic images can rise
// with N while its accuracy rises too. So both loss and top-1 error (1 - accuracy) are fitted, and a curve whose
// per-N means are not monotone decreasing keeps its fit for inspection but gets `unreliable: true` and no headline
// slope (`scalingSlope: null`); so does a fit that fails a quality gate (too few sizes, too narrow a span, poor R²).
// The output is plain JSON (no class instances, no NaN/Infinity) and small.
//
// The steps: curves.ts (cells to curves), metric-scaling.ts (one metric's fits), draws.ts (the bootstrap over
// seeds), compare.ts (against real data, mixing gains), recognizability-gap.ts (recognizability vs the per-class
// gap), findings.ts (the paper's claims, with verdicts).
import type { CellMetrics, SourceSummary } from '../../contracts/types.js';
import { DEFAULT_ANALYSIS_SETTINGS, type AnalysisSettings, type AnalyzeOptions, type SweepAnalysis } from '../../contracts/analysis.js';
import { analyzeCurve, curveSources, usableCells } from './curves.js';
import { seedResampling } from './draws.js';
import { DEFAULT_MONOTONE } from './metric-scaling.js';
import { compareToReal, mixingGains, realReference, type DrawnCurve } from './compare.js';
import { recognizabilityVsGap } from './recognizability-gap.js';
import { findings } from './findings.js';

export type { ScalingMetric, PerNAggregate, ReliablePowerLawFit, MetricScaling, CurveAnalysis, AccuracyGap, SourceComparison, AnalyzeOptions, RecognizabilityAnalysis, MixingGain, SweepAnalysis } from '../../contracts/analysis.js';

/** Distinct values, ascending. */
function sortedUnique(values: number[]): number[] {
  return [...new Set(values)].sort((p, q) => p - q);
}

/** The interval method in one sentence. */
export function intervalMethod(settings: AnalysisSettings): string {
  return (
    'Slopes are least-squares fits of log mean against log N over the distinct N, with a Student-t 95% interval on (distinct N − 2) degrees of freedom (it covers seed noise and deviations of whole N from the power law); ' +
    `slope ratios, accuracy gaps, real-data equivalents and mixing gains carry 95% percentile intervals from a bootstrap of ${settings.bootstrapDraws} draws (seed ${settings.bootstrapSeed}) that resamples each source's seeds with replacement within each N, independently per source, and refits.`
  );
}

/** Which variance the intervals cover, from what a seed redraws. */
export function varianceCovered(seedDraws: 'data' | 'init'): string {
  return seedDraws === 'data'
    ? "Each seed draws its own training images (its own real subset, its own synthetic images) and its own initialisation, so the intervals cover the variance of drawing the data and of initialisation."
    : 'Seeds change only the initialisation and batch order (every seed trains on the same images), so the intervals cover initialisation variance only, not the variance of drawing other training images.';
}

/** The analysis options, and which eval sets are another dataset's (activity.ts reads it from the plan's eval sets). */
export interface AnalyzeSweepOptions extends AnalyzeOptions {
  /**
   * Eval sets whose images come from another dataset with the same classes (EvalSetSpec.dataset):
   * shifted, like the OOD suites, so never the clean eval set, and tested by the OOD finding. Default none.
   */
  otherDatasetEvalSets?: readonly string[];
}

/**
 * Aggregates cells per (source, evalSet, N) over seeds, fits loss and error against N (plain and with an offset),
 * flags non-monotone and ungated curves, compares each synthetic source to the real one, and tests the paper's findings.
 */
export function analyzeSweep(
  cells: readonly CellMetrics[],
  sources: readonly SourceSummary[],
  options: AnalyzeSweepOptions = {},
): SweepAnalysis {
  const otherDatasets = options.otherDatasetEvalSets ?? [];
  const monotoneOpts = options.monotone ?? DEFAULT_MONOTONE;
  const settings: AnalysisSettings = { ...DEFAULT_ANALYSIS_SETTINGS, ...options.analysis };
  const seedDraws = options.seedDraws ?? 'init';
  const warnings: string[] = [];
  const kept = usableCells(cells, warnings);
  const evalSets = [...new Set(kept.map((c) => c.evalSet))];
  const summaryByName = new Map(sources.map((s) => [s.name, s]));
  const drawn: DrawnCurve[] = curveSources(sources, kept, warnings).flatMap((source) => {
    const resampling = seedResampling(source, kept, settings.bootstrapDraws, settings.bootstrapSeed);
    const curveSettings = { monotone: monotoneOpts, gates: settings, resampling };
    return evalSets.flatMap((evalSet) => analyzeCurve(source, summaryByName.get(source), evalSet, kept, curveSettings) ?? []);
  });
  const curves = drawn.map((d) => d.curve);

  // CLIP curves (sources named clip:<source>) compare with the real source's CLIP curve.
  const { realSource, realFor } = realReference(sources, summaryByName, curves);
  if (realSource === null && curves.length > 0) warnings.push('no real source with cells: no comparison to real data');
  const compared = realSource === null ? [] : compareToReal(drawn, realFor);
  const comparisons = compared.map((c) => c.comparison);
  const recognizability = (options.recognizability ?? []).map((r) => recognizabilityVsGap(r, kept, evalSets, realSource, warnings, otherDatasets));

  return {
    version: 1,
    sources: sources.map((s) => ({ ...s })),
    realSource,
    evalSets,
    sizes: sortedUnique(kept.map((c) => c.size)),
    seeds: sortedUnique(kept.map((c) => c.seed)),
    cellCount: kept.length,
    curves,
    comparisons,
    recognizability,
    mixing: mixingGains(comparisons, summaryByName),
    findings: findings({ sources, evalSets, curves: drawn, compared, recognizability, otherDatasets }),
    warnings,
    settings: {
      monotone: { ...monotoneOpts },
      ci: 'two-sided 95% Student-t interval of the mean over seeds (none with one seed)',
      fitPoints: 'least squares over the per-N means (one point per distinct N); power law fitted in log-log space, offset power law in linear space',
      intervals: intervalMethod(settings),
      seedDraws,
      variance: varianceCovered(seedDraws),
      analysis: settings,
    },
  };
}
