// Each curve against real data: which real curve it is compared with, slope ratios, the accuracy
// gap at shared N, the effective real-data equivalent, and a mixed source's gain over real only,
// each with a bootstrap interval from the two curves' draws taken together (draws.ts).
import { clipCurveName, isClipCurve } from '../../contracts/analysis.js';
import type { AccuracyGap, CurveAnalysis, MetricScaling, MixingGain, ScalingMetric, SourceComparison } from '../../contracts/analysis.js';
import type { SourceSummary } from '../../contracts/types.js';
import { percentileInterval } from '../../core/stats/bootstrap.js';
import { meanDraws, type CurveDraws } from './draws.js';

/** A curve with its bootstrap draws. */
export interface DrawnCurve {
  curve: CurveAnalysis;
  draws: CurveDraws;
}

/** A comparison's draws, for the findings: the slope ratios (null where withheld) and the accuracy gap at each shared N. */
export interface ComparisonDraws {
  ratio: Record<ScalingMetric, Float64Array | null>;
  gap: Map<number, Float64Array>;
}

export interface ComparedCurve {
  comparison: SourceComparison;
  draws: ComparisonDraws;
}

/** The real curve each curve compares with, and the sweep's reference real source. */
export interface RealReference {
  /** The first real source with classifier curves, else the CLIP fallback; null when there is none. */
  realSource: string | null;
  realFor(curve: string): string | null;
}

/**
 * A mix compares with its own real part; a CLIP curve with real pairs where there are, else with
 * real images; a classifier curve with the first real source that has curves.
 */
export function realReference(sources: readonly SourceSummary[], summaryByName: Map<string, SourceSummary>, curves: CurveAnalysis[]): RealReference {
  const hasCurves = (name: string) => curves.some((c) => c.source === name);
  const firstOfKind = (kind: string, clip: boolean) => sources.find((s) => s.kind === kind && isClipCurve(s.name) === clip && hasCurves(s.name))?.name ?? null;
  const fallback = (clip: boolean) => (clip ? firstOfKind('real-pairs', true) : null) ?? firstOfKind('real', clip);
  const realFor = (name: string): string | null => {
    const clip = isClipCurve(name);
    const mixReal = summaryByName.get(name)?.mix?.real;
    const own = mixReal === undefined ? null : clip ? clipCurveName(mixReal) : mixReal;
    if (own !== null && hasCurves(own)) return own;
    return fallback(clip);
  };
  return { realSource: firstOfKind('real', false) ?? fallback(true), realFor };
}

/** N such that a N^-b = y (the real curve's fit), or null. */
function invertPowerLaw(m: MetricScaling, y: number): number | null {
  if (!m.fit || m.unreliable || !(m.fit.b > 0) || !(m.fit.a > 0) || !(y > 0)) return null;
  const n = (y / m.fit.a) ** (-1 / m.fit.b);
  return Number.isFinite(n) ? n : null;
}

/** Per draw, source b / real b (NaN where the real draw's slope is not positive). */
function ratioDraws(source: Float64Array, real: Float64Array): Float64Array {
  return source.map((b, d) => (real[d]! > 0 ? b / real[d]! : Number.NaN));
}

/** Per draw, the real fit inverted at the source's mean: ln N = (ln a - ln y) / b. */
function effectiveNDraws(real: CurveDraws, metric: ScalingMetric, means: Float64Array): Float64Array {
  const { lnA, b } = real.fits[metric];
  return means.map((y, d) => (b[d]! > 0 && y > 0 ? Math.exp((lnA[d]! - Math.log(y)) / b[d]!) : Number.NaN));
}

/** Slope ratios with their intervals, and notes on the ones withheld. */
function slopeRatios(curve: DrawnCurve, real: DrawnCurve, realSource: string, notes: string[]) {
  const ratio = (metric: ScalingMetric): { value: number | null; draws: Float64Array | null } => {
    const s = curve.curve[metric].scalingSlope;
    const r = real.curve[metric].scalingSlope;
    if (s === null) notes.push(`${metric} slope ratio: ${curve.curve.source} has no reliable ${metric} slope`);
    if (r === null) notes.push(`${metric} slope ratio: ${realSource} has no reliable ${metric} slope`);
    if (s === null || r === null) return { value: null, draws: null };
    if (r === 0) {
      notes.push(`${metric} slope ratio: real slope is 0`);
      return { value: null, draws: null };
    }
    return { value: s / r, draws: ratioDraws(curve.draws.fits[metric].b, real.draws.fits[metric].b) };
  };
  return { error: ratio('error'), loss: ratio('loss') };
}

/** One curve against the real curve on the same eval set. */
function compareCurve(drawn: DrawnCurve, realDrawn: DrawnCurve, realSource: string): ComparedCurve {
  const { curve } = drawn;
  const real = realDrawn.curve;
  const notes: string[] = [];
  const ratios = slopeRatios(drawn, realDrawn, realSource, notes);
  const realIndex = new Map(real.perN.map((p, k) => [p.n, k]));
  const accuracyGap: AccuracyGap[] = [];
  const gap = new Map<number, Float64Array>();
  curve.perN.forEach((p, k) => {
    const rk = realIndex.get(p.n);
    if (rk === undefined) return;
    const r = real.perN[rk]!;
    const realAcc = meanDraws(realDrawn.draws, 'accuracy', rk);
    const draws = meanDraws(drawn.draws, 'accuracy', k).map((a, d) => a - realAcc[d]!);
    gap.set(p.n, draws);
    accuracyGap.push({ n: p.n, accuracy: p.accuracy.mean, realAccuracy: r.accuracy.mean, gap: p.accuracy.mean - r.accuracy.mean, ci95: percentileInterval(draws) });
  });
  const realNs = real.perN.map((p) => p.n);
  const effectiveRealN = curve.perN.map((p, k) => {
    const byLoss = invertPowerLaw(real.loss, p.loss.mean);
    const byError = invertPowerLaw(real.error, p.error.mean);
    const outside = (x: number | null) => x !== null && (x < Math.min(...realNs) || x > Math.max(...realNs));
    const interval = (metric: ScalingMetric, point: number | null) =>
      point === null ? null : percentileInterval(effectiveNDraws(realDrawn.draws, metric, meanDraws(drawn.draws, metric, k)));
    return { n: p.n, byLoss, byError, extrapolated: outside(byLoss) || outside(byError), byLossCI95: interval('loss', byLoss), byErrorCI95: interval('error', byError) };
  });
  const ci = (draws: Float64Array | null) => (draws ? percentileInterval(draws) : null);
  const comparison: SourceComparison = {
    source: curve.source,
    realSource,
    evalSet: curve.evalSet,
    errorSlopeRatio: ratios.error.value,
    lossSlopeRatio: ratios.loss.value,
    errorSlopeRatioCI95: ci(ratios.error.draws),
    lossSlopeRatioCI95: ci(ratios.loss.draws),
    notes,
    accuracyGap,
    effectiveRealN,
  };
  return { comparison, draws: { ratio: { error: ratios.error.draws, loss: ratios.loss.draws }, gap } };
}

/** Every curve that is not itself real, against its real curve on the same eval set (where there is one). */
export function compareToReal(curves: DrawnCurve[], realFor: RealReference['realFor']): ComparedCurve[] {
  const out: ComparedCurve[] = [];
  for (const drawn of curves) {
    const { curve } = drawn;
    const realSource = realFor(curve.source);
    if (realSource === null || curve.source === realSource || curve.kind === 'real' || curve.kind === 'real-pairs') continue;
    const real = curves.find((c) => c.curve.source === realSource && c.curve.evalSet === curve.evalSet);
    if (real) out.push(compareCurve(drawn, real, realSource));
  }
  return out;
}

/** Mixing: the accuracy gap of a mixed source to real-only at equal real N is its gain. */
export function mixingGains(comparisons: SourceComparison[], summaryByName: Map<string, SourceSummary>): MixingGain[] {
  return comparisons
    .filter((c) => summaryByName.get(c.source)?.kind === 'mixed')
    .map((c) => ({
      source: c.source,
      realSource: c.realSource,
      evalSet: c.evalSet,
      gains: c.accuracyGap.map((g) => ({ n: g.n, accuracy: g.accuracy, realAccuracy: g.realAccuracy, gain: g.gap, ci95: g.ci95 })),
    }));
}
