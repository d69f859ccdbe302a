// Turns per-cell metrics of a sweep into per-source scaling curves, power-law fits and comparisons to real data.
//
// Following the paper's measuring pitfall: the test cross-entropy of a model trained on synthetic images can rise
// with N while its accuracy rises too. So both loss and top-1 error (1 - accuracy) are fitted, and a curve whose
// per-N means are not monotone decreasing keeps its fit for inspection but gets `unreliable: true` and no headline
// slope (`scalingSlope: null`). The output is plain JSON (no class instances, no NaN/Infinity) and small.
//
// The steps: curves.ts (cells to curves), metric-scaling.ts (one metric's fits), compare.ts (against real data,
// mixing gains), recognizability-gap.ts (recognizability vs the per-class gap).
import type { CellMetrics, SourceSummary } from '../../contracts/types.js';
import type { AnalyzeOptions, SweepAnalysis } from '../../contracts/analysis.js';
import { analyzeCurve, curveSources, usableCells } from './curves.js';
import { DEFAULT_MONOTONE } from './metric-scaling.js';
import { compareToReal, mixingGains, realReference } from './compare.js';
import { recognizabilityVsGap } from './recognizability-gap.js';

export type { ScalingMetric, PerNAggregate, ReliablePowerLawFit, MetricScaling, CurveAnalysis, AccuracyGap, SourceComparison, AnalyzeOptions, RecognizabilityAnalysis, MixingGain, SweepAnalysis } from '../../contracts/analysis.js';

/** Distinct values, ascending. */
function sortedUnique(values: number[]): number[] {
  return [...new Set(values)].sort((p, q) => p - q);
}

/**
 * Aggregates cells per (source, evalSet, N) over seeds, fits loss and error against N (plain and with an offset),
 * flags non-monotone curves, and compares each synthetic source to the real one.
 */
export function analyzeSweep(
  cells: readonly CellMetrics[],
  sources: readonly SourceSummary[],
  options: AnalyzeOptions = {},
): SweepAnalysis {
  const monotoneOpts = options.monotone ?? DEFAULT_MONOTONE;
  const warnings: string[] = [];
  const kept = usableCells(cells, warnings);
  const evalSets = [...new Set(kept.map((c) => c.evalSet))];
  const summaryByName = new Map(sources.map((s) => [s.name, s]));
  const curves = curveSources(sources, kept, warnings).flatMap((source) =>
    evalSets.flatMap((evalSet) => analyzeCurve(source, summaryByName.get(source), evalSet, kept, monotoneOpts) ?? []),
  );

  // CLIP curves (sources named clip:<source>) compare with the real source's CLIP curve.
  const { realSource, realFor } = realReference(sources, summaryByName, curves);
  if (realSource === null && curves.length > 0) warnings.push('no real source with cells: no comparison to real data');
  const comparisons = realSource === null ? [] : compareToReal(curves, realFor);
  const recognizability = (options.recognizability ?? []).map((r) => recognizabilityVsGap(r, kept, evalSets, realSource, warnings));

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
    warnings,
    settings: {
      monotone: { ...monotoneOpts },
      ci: 'two-sided 95% Student-t interval of the mean over seeds (none with one seed)',
      fitPoints: 'least squares over all per-seed points (not per-N means); power law fitted in log-log space',
    },
  };
}
