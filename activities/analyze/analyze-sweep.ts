// Turns per-cell metrics of a sweep into per-source scaling curves, power-law fits and comparisons to real data.
//
// Following the paper's measuring pitfall: the test cross-entropy of a model trained on synthetic images can rise
// with N while its accuracy rises too. So both loss and top-1 error (1 - accuracy) are fitted, and a curve whose
// per-N means are not monotone decreasing keeps its fit for inspection but gets `unreliable: true` and no headline
// slope (`scalingSlope: null`). The output is plain JSON (no class instances, no NaN/Infinity) and small.
import type { CellMetrics, SourceSummary } from '../../contracts/types.js';
import {
  checkMonotoneDecreasing,
  fitPowerLaw,
  fitPowerLawWithOffset,
  meanCI95,
  type MeanCI,
  type MonotoneOptions,
  type MonotoneViolation,
  type OffsetFit,
  type PowerLawFit,
} from '../../core/stats/powerlaw.js';
import { correlate, type Correlation } from '../../core/stats/recognizability.js';

export type { ScalingMetric, PerNAggregate, ReliablePowerLawFit, MetricScaling, CurveAnalysis, AccuracyGap, SourceComparison, AnalyzeOptions, RecognizabilityAnalysis, MixingGain, SweepAnalysis } from '../../contracts/analysis.js';
import type { ScalingMetric, PerNAggregate, ReliablePowerLawFit, MetricScaling, CurveAnalysis, AccuracyGap, SourceComparison, AnalyzeOptions, RecognizabilityAnalysis, MixingGain, SweepAnalysis } from '../../contracts/analysis.js';

/** N such that a N^-b = y (the real curve's fit), or null. */
function invertPowerLaw(m: MetricScaling, y: number): number | null {
  if (!m.fit || m.unreliable || !(m.fit.b > 0) || !(m.fit.a > 0) || !(y > 0)) return null;
  const n = (y / m.fit.a) ** (-1 / m.fit.b);
  return Number.isFinite(n) ? n : null;
}

const DEFAULT_MONOTONE: MonotoneOptions = { relTolerance: 0.01, seMultiplier: 2 };

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function fmt(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toPrecision(digits) : String(x);
}

function analyzeMetric(
  metric: ScalingMetric,
  ns: number[],
  ys: number[],
  monotoneOpts: MonotoneOptions,
): MetricScaling {
  const check = checkMonotoneDecreasing(ns, ys, monotoneOpts);
  const out: MetricScaling = {
    metric,
    monotone: check.monotone,
    violations: check.violations,
    fit: null,
    offsetFit: null,
    scalingSlope: null,
    scalingSlopeCI95: null,
    unreliable: true,
  };
  const reasons: string[] = [];
  if (!check.monotone) {
    const shown = check.violations
      .slice(0, 2)
      .map((x) => `${fmt(x.mean)} at N=${x.n} vs ${fmt(x.priorMean)} at N=${x.priorN}`);
    const more = check.violations.length - shown.length;
    const v = shown.join(', ') + (more > 0 ? `, and ${more} more rise${more > 1 ? 's' : ''}` : '');
    reasons.push(
      metric === 'loss'
        ? `test loss is not monotone decreasing in N (${v}); a power law fitted to it is not a scaling law ` +
            '(the pitfall: models trained on synthetic data can grow confidently wrong on real images as N grows)'
        : `top-1 error is not monotone decreasing in N (${v})`,
    );
  }
  try {
    const fit = fitPowerLaw(ns, ys);
    if (!(fit.b > 0)) reasons.push(`fitted exponent b = ${fmt(fit.b)} is not positive: ${metric} does not fall with N`);
    out.fit = { ...fit, unreliable: reasons.length > 0 };
    if (reasons.length > 0) out.fit.reason = reasons.join('; ');
  } catch (e) {
    out.fitError = errorMessage(e);
    reasons.push(`no power-law fit: ${out.fitError}`);
  }
  try {
    out.offsetFit = fitPowerLawWithOffset(ns, ys);
  } catch (e) {
    out.offsetFitError = errorMessage(e);
  }
  out.unreliable = reasons.length > 0;
  if (reasons.length > 0) out.reason = reasons.join('; ');
  if (out.fit && !out.unreliable) {
    out.scalingSlope = out.fit.b;
    out.scalingSlopeCI95 = out.fit.slopeCI95 ?? null;
  }
  return out;
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

  // Drop cells with unusable numbers, and de-duplicate (source, evalSet, size, seed), keeping the last one.
  const unique = new Map<string, CellMetrics>();
  for (const c of cells) {
    const bad = (['size', 'loss', 'accuracy', 'ece'] as const).filter((k) => !Number.isFinite(c[k]));
    if (bad.length > 0 || c.size <= 0) {
      warnings.push(
        `dropped cell ${c.source}/${c.evalSet}/N=${c.size}/seed=${c.seed}: ${bad.length > 0 ? `non-finite ${bad.join(', ')}` : 'N <= 0'}`,
      );
      continue;
    }
    const key = JSON.stringify([c.source, c.evalSet, c.size, c.seed]);
    if (unique.has(key)) warnings.push(`duplicate cell ${c.source}/${c.evalSet}/N=${c.size}/seed=${c.seed}: kept the last one`);
    unique.set(key, c);
  }
  const kept = [...unique.values()];

  const evalSets = [...new Set(kept.map((c) => c.evalSet))];
  const sizes = [...new Set(kept.map((c) => c.size))].sort((p, q) => p - q);
  const seeds = [...new Set(kept.map((c) => c.seed))].sort((p, q) => p - q);

  const summaryByName = new Map(sources.map((s) => [s.name, s]));
  const sourceNames = sources.map((s) => s.name);
  for (const name of new Set(kept.map((c) => c.source))) {
    if (!summaryByName.has(name)) {
      warnings.push(`cells for source "${name}" have no SourceSummary; analysed as kind "unknown"`);
      sourceNames.push(name);
    }
  }
  for (const s of sources) {
    if (!kept.some((c) => c.source === s.name)) warnings.push(`source "${s.name}" has no cells`);
  }

  const curves: CurveAnalysis[] = [];
  for (const source of sourceNames) {
    const summary = summaryByName.get(source);
    for (const evalSet of evalSets) {
      const group = kept.filter((c) => c.source === source && c.evalSet === evalSet).sort((p, q) => p.size - q.size || p.seed - q.seed);
      if (group.length === 0) continue;
      const curveWarnings: string[] = [];
      const byN = new Map<number, CellMetrics[]>();
      for (const c of group) byN.set(c.size, [...(byN.get(c.size) ?? []), c]);
      const perN: PerNAggregate[] = [...byN.entries()]
        .sort((p, q) => p[0] - q[0])
        .map(([n, cs]) => ({
          n,
          seeds: cs.length,
          loss: meanCI95(cs.map((c) => c.loss)),
          error: meanCI95(cs.map((c) => 1 - c.accuracy)),
          accuracy: meanCI95(cs.map((c) => c.accuracy)),
          ece: meanCI95(cs.map((c) => c.ece)),
          ...(cs.every((c) => c.zeroShotSingle) ? { singleTemplateAccuracy: meanCI95(cs.map((c) => c.zeroShotSingle!.accuracy)) } : {}),
          ...(cs.every((c) => c.probe) ? { probeAccuracy: meanCI95(cs.map((c) => c.probe!.accuracy)) } : {}),
        }));
      const single = perN.filter((p) => p.seeds < 2).map((p) => p.n);
      if (single.length > 0) curveWarnings.push(`only one seed at N = ${single.join(', ')}: no confidence interval there`);
      if (perN.length < 3) curveWarnings.push(`only ${perN.length} distinct N: no slope confidence interval`);

      const ns = group.map((c) => c.size);
      const loss = analyzeMetric('loss', ns, group.map((c) => c.loss), monotoneOpts);
      const error = analyzeMetric('error', ns, group.map((c) => 1 - c.accuracy), monotoneOpts);
      for (const m of [loss, error]) {
        if (m.fit && !m.unreliable && m.fit.r2 < 0.8)
          curveWarnings.push(`${m.metric} fit is poor (log-space R² = ${fmt(m.fit.r2)}); read its slope with care`);
      }
      if (!loss.monotone && error.monotone)
        curveWarnings.push(
          'loss is not monotone while error is: the model becomes over-confident on real test data as N grows (see ECE)',
        );
      curves.push({
        source,
        kind: summary?.kind ?? 'unknown',
        description: summary?.description ?? '',
        evalSet,
        perN,
        loss,
        error,
        lossMonotone: loss.monotone,
        errorMonotone: error.monotone,
        warnings: curveWarnings,
      });
    }
  }

  // CLIP curves (sources named clip:<source>) compare with the real source's CLIP curve.
  const isClip = (name: string) => name.startsWith('clip:');
  const hasCurves = (name: string) => curves.some((c) => c.source === name);
  const firstOfKind = (kind: string, clip: boolean) => sources.find((s) => s.kind === kind && isClip(s.name) === clip && hasCurves(s.name))?.name ?? null;
  // A mix compares with its own real part; a CLIP curve with real pairs where there are, else real images.
  const realFor = (name: string): string | null => {
    const clip = isClip(name);
    const mixReal = summaryByName.get(name)?.mix?.real;
    const own = mixReal === undefined ? null : `${clip ? 'clip:' : ''}${mixReal}`;
    if (own !== null && hasCurves(own)) return own;
    return (clip ? firstOfKind('real-pairs', true) : null) ?? firstOfKind('real', clip);
  };
  const realSource = sources.find((s) => s.kind === 'real' && !isClip(s.name) && curves.some((c) => c.source === s.name))?.name ?? realFor('clip:');
  const comparisons: SourceComparison[] = [];
  if (realSource === null) {
    if (curves.length > 0) warnings.push('no real source with cells: no comparison to real data');
  } else {
    for (const curve of curves) {
      const realSource = realFor(curve.source);
      if (realSource === null || curve.source === realSource || curve.kind === 'real' || curve.kind === 'real-pairs') continue;
      const real = curves.find((c) => c.source === realSource && c.evalSet === curve.evalSet);
      if (!real) continue;
      const notes: string[] = [];
      const ratio = (metric: ScalingMetric): number | null => {
        const s = curve[metric].scalingSlope;
        const r = real[metric].scalingSlope;
        if (s === null) notes.push(`${metric} slope ratio: ${curve.source} has no reliable ${metric} slope`);
        if (r === null) notes.push(`${metric} slope ratio: ${realSource} has no reliable ${metric} slope`);
        if (s === null || r === null) return null;
        if (r === 0) {
          notes.push(`${metric} slope ratio: real slope is 0`);
          return null;
        }
        return s / r;
      };
      const realByN = new Map(real.perN.map((p) => [p.n, p]));
      const accuracyGap: AccuracyGap[] = [];
      for (const p of curve.perN) {
        const r = realByN.get(p.n);
        if (!r) continue;
        accuracyGap.push({ n: p.n, accuracy: p.accuracy.mean, realAccuracy: r.accuracy.mean, gap: p.accuracy.mean - r.accuracy.mean });
      }
      const realNs = real.perN.map((p) => p.n);
      const effectiveRealN = curve.perN.map((p) => {
        const byLoss = invertPowerLaw(real.loss, p.loss.mean);
        const byError = invertPowerLaw(real.error, p.error.mean);
        const outside = (x: number | null) => x !== null && (x < Math.min(...realNs) || x > Math.max(...realNs));
        return { n: p.n, byLoss, byError, extrapolated: outside(byLoss) || outside(byError) };
      });
      comparisons.push({
        source: curve.source,
        realSource,
        evalSet: curve.evalSet,
        errorSlopeRatio: ratio('error'),
        lossSlopeRatio: ratio('loss'),
        notes,
        accuracyGap,
        effectiveRealN,
      });
    }
  }

  // Mixing: the accuracy gap of a mixed source to real-only at equal real N is its gain.
  const mixing: MixingGain[] = comparisons
    .filter((c) => summaryByName.get(c.source)?.kind === 'mixed')
    .map((c) => ({
      source: c.source,
      realSource: c.realSource,
      evalSet: c.evalSet,
      gains: c.accuracyGap.map((g) => ({ n: g.n, accuracy: g.accuracy, realAccuracy: g.realAccuracy, gain: g.gap })),
    }));

  // Recognizability vs the per-class gap at the largest N the source shares with real data, clean eval set.
  const recognizability: RecognizabilityAnalysis[] = (options.recognizability ?? []).map((r) => {
    const cleanEval = evalSets.find((e) => !e.startsWith('ood-')) ?? null;
    const mine = kept.filter((c) => c.source === r.source && c.evalSet === cleanEval);
    const theirs = kept.filter((c) => c.source === realSource && c.evalSet === cleanEval);
    const shared = [...new Set(mine.map((c) => c.size))].filter((n) => theirs.some((c) => c.size === n));
    const n = shared.length ? Math.max(...shared) : null;
    const perClassMean = (cs: CellMetrics[], k: number): number | null => {
      const values = cs.filter((c) => c.size === n).map((c) => c.perClassAccuracy[k]).filter((v): v is number => Number.isFinite(v));
      return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
    };
    const perClass = r.classes.map((className, k) => {
      const accuracy = n === null ? null : perClassMean(mine, k);
      const realAccuracy = n === null ? null : perClassMean(theirs, k);
      return {
        className,
        recognizability: r.perClass[k] ?? null,
        accuracy,
        realAccuracy,
        gap: accuracy !== null && realAccuracy !== null ? accuracy - realAccuracy : null,
      };
    });
    if (n === null) warnings.push(`recognizability of ${r.source}: no N shared with the real source, so no per-class gap to correlate`);
    return {
      source: r.source,
      overall: r.overall,
      judgeTestAccuracy: r.judgeTestAccuracy,
      n,
      evalSet: cleanEval,
      perClass,
      correlation: correlate(perClass.map((p) => p.recognizability), perClass.map((p) => p.gap)),
    };
  });

  return {
    version: 1,
    sources: sources.map((s) => ({ ...s })),
    realSource,
    evalSets,
    sizes,
    seeds,
    cellCount: kept.length,
    curves,
    comparisons,
    recognizability,
    mixing,
    warnings,
    settings: {
      monotone: { ...monotoneOpts },
      ci: 'two-sided 95% Student-t interval of the mean over seeds (none with one seed)',
      fitPoints: 'least squares over all per-seed points (not per-N means); power law fitted in log-log space',
    },
  };
}
