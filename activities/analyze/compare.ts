// Each curve against real data: which real curve it is compared with, slope ratios, the accuracy
// gap at shared N, the effective real-data equivalent, and a mixed source's gain over real only.
import { clipCurveName, isClipCurve } from '../../contracts/analysis.js';
import type { AccuracyGap, CurveAnalysis, MetricScaling, MixingGain, ScalingMetric, SourceComparison } from '../../contracts/analysis.js';
import type { SourceSummary } from '../../contracts/types.js';

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

/** One curve against the real curve on the same eval set. */
function compareCurve(curve: CurveAnalysis, real: CurveAnalysis, realSource: string): SourceComparison {
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
  return {
    source: curve.source,
    realSource,
    evalSet: curve.evalSet,
    errorSlopeRatio: ratio('error'),
    lossSlopeRatio: ratio('loss'),
    notes,
    accuracyGap,
    effectiveRealN,
  };
}

/** Every curve that is not itself real, against its real curve on the same eval set (where there is one). */
export function compareToReal(curves: CurveAnalysis[], realFor: RealReference['realFor']): SourceComparison[] {
  const comparisons: SourceComparison[] = [];
  for (const curve of curves) {
    const realSource = realFor(curve.source);
    if (realSource === null || curve.source === realSource || curve.kind === 'real' || curve.kind === 'real-pairs') continue;
    const real = curves.find((c) => c.source === realSource && c.evalSet === curve.evalSet);
    if (real) comparisons.push(compareCurve(curve, real, realSource));
  }
  return comparisons;
}

/** Mixing: the accuracy gap of a mixed source to real-only at equal real N is its gain. */
export function mixingGains(comparisons: SourceComparison[], summaryByName: Map<string, SourceSummary>): MixingGain[] {
  return comparisons
    .filter((c) => summaryByName.get(c.source)?.kind === 'mixed')
    .map((c) => ({
      source: c.source,
      realSource: c.realSource,
      evalSet: c.evalSet,
      gains: c.accuracyGap.map((g) => ({ n: g.n, accuracy: g.accuracy, realAccuracy: g.realAccuracy, gain: g.gap })),
    }));
}
