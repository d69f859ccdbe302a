// One metric of one curve (loss or top-1 error against N): the monotonicity check, the plain and
// the offset power-law fits on the per-N means, the held-out check, their bootstrap intervals, and
// whether the fitted slope may be reported as a scaling exponent (the quality gates).
import type { AnalysisSettings, HoldoutCheck, MetricScaling, ScalingMetric, WithholdReason } from '../../contracts/analysis.js';
import { percentileInterval } from '../../core/stats/bootstrap.js';
import { checkMonotoneDecreasing, type MonotoneOptions, type MonotoneViolation } from '../../core/stats/monotone.js';
import { fitPowerLaw, fitPowerLawWithOffset, predictPowerLaw } from '../../core/stats/powerlaw.js';
import { offsetExponentInterval, type CurveDraws } from './draws.js';

export const DEFAULT_MONOTONE: MonotoneOptions = { relTolerance: 0.01, seMultiplier: 2 };

export type QualityGates = Pick<AnalysisSettings, 'minSizes' | 'minDecades' | 'minR2'>;

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function fmt(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toPrecision(digits) : String(x);
}

/** Why a curve that rises somewhere is not a scaling law (the first two rises named). */
function notMonotoneReason(metric: ScalingMetric, violations: MonotoneViolation[]): string {
  const shown = violations.slice(0, 2).map((x) => `${fmt(x.mean)} at N=${x.n} vs ${fmt(x.priorMean)} at N=${x.priorN}`);
  const more = violations.length - shown.length;
  const v = shown.join(', ') + (more > 0 ? `, and ${more} more rise${more > 1 ? 's' : ''}` : '');
  return metric === 'loss'
    ? `test loss is not monotone decreasing in N (${v}); a power law fitted to it is not a scaling law ` +
        '(the pitfall: models trained on synthetic data can grow confidently wrong on real images as N grows)'
    : `top-1 error is not monotone decreasing in N (${v})`;
}

/** The span of N the gates read: distinct N and decades (log10 of largest / smallest N). */
export function spanOf(ns: readonly number[]): { distinctN: number; decades: number } {
  const distinct = [...new Set(ns)];
  return { distinctN: distinct.length, decades: distinct.length ? Math.log10(Math.max(...distinct) / Math.min(...distinct)) : 0 };
}

/** The quality gates a fit fails, each with its reason in words. */
function gateFailures(ns: readonly number[], r2: number, gates: QualityGates): [WithholdReason, string][] {
  const { distinctN, decades } = spanOf(ns);
  const out: [WithholdReason, string][] = [];
  if (distinctN < gates.minSizes)
    out.push(['few-sizes', `only ${distinctN} distinct N (the gate is ${gates.minSizes}): too few sizes to tell a power law from a curve bending to a floor`]);
  if (decades < gates.minDecades)
    out.push(['narrow-span', `N spans ${decades.toFixed(2)} decades (the gate is ${gates.minDecades}): too narrow to identify an exponent`]);
  if (r2 < gates.minR2) out.push(['poor-fit', `the power law fits the per-N means with log-space R² = ${fmt(r2)} (the gate is ${gates.minR2})`]);
  return out;
}

/** Fit without the largest N, predict it (null with fewer than 3 distinct N). */
export function holdoutCheck(ns: readonly number[], means: readonly number[]): HoldoutCheck | null {
  if (ns.length < 3) return null;
  const last = ns.length - 1;
  try {
    const fit = fitPowerLaw(ns.slice(0, last), means.slice(0, last));
    const predicted = predictPowerLaw(fit, ns[last]!);
    const actual = means[last]!;
    return { n: ns[last]!, predicted, actual, relativeError: (predicted - actual) / actual };
  } catch {
    return null;
  }
}

/** The per-seed points (for the monotonicity check's noise tolerance) and the per-N means (for the fits), sorted by N. */
export interface MetricPoints {
  seedNs: number[];
  seedYs: number[];
  ns: number[];
  means: number[];
}

/**
 * Fits one metric on its per-N means. The fits are kept even when unreliable, for inspection; only
 * a monotone curve with a positive exponent that passes the quality gates gets a headline slope.
 */
export function analyzeMetric(metric: ScalingMetric, points: MetricPoints, monotoneOpts: MonotoneOptions, gates: QualityGates, draws: CurveDraws | null): MetricScaling {
  const check = checkMonotoneDecreasing(points.seedNs, points.seedYs, monotoneOpts);
  const out: MetricScaling = {
    metric,
    monotone: check.monotone,
    violations: check.violations,
    fit: null,
    slopeBootstrapCI95: null,
    holdout: holdoutCheck(points.ns, points.means),
    offsetFit: null,
    offsetExponentCI95: null,
    offsetUnidentified: true,
    scalingSlope: null,
    scalingSlopeCI95: null,
    unreliable: true,
    withheldBy: [],
  };
  const reasons: [WithholdReason, string][] = [];
  if (!check.monotone) reasons.push(['not-monotone', notMonotoneReason(metric, check.violations)]);
  try {
    const fit = fitPowerLaw(points.ns, points.means);
    if (!(fit.b > 0)) reasons.push(['no-decay', `fitted exponent b = ${fmt(fit.b)} is not positive: ${metric} does not fall with N`]);
    reasons.push(...gateFailures(points.ns, fit.r2, gates));
    out.fit = { ...fit, unreliable: reasons.length > 0 };
    if (reasons.length > 0) out.fit.reason = reasons.map((r) => r[1]).join('; ');
    if (draws) out.slopeBootstrapCI95 = percentileInterval(draws.fits[metric].b);
  } catch (e) {
    out.fitError = errorMessage(e);
    reasons.push(['no-fit', `no power-law fit: ${out.fitError}`]);
  }
  try {
    out.offsetFit = fitPowerLawWithOffset(points.ns, points.means);
    if (draws && out.offsetFit.distinctN >= 4) {
      out.offsetExponentCI95 = offsetExponentInterval(draws, metric);
      out.offsetUnidentified = out.offsetExponentCI95.lo === null || out.offsetExponentCI95.hi === null;
    }
  } catch (e) {
    out.offsetFitError = errorMessage(e);
  }
  out.unreliable = reasons.length > 0;
  out.withheldBy = reasons.map((r) => r[0]);
  if (reasons.length > 0) out.reason = reasons.map((r) => r[1]).join('; ');
  if (out.fit && !out.unreliable) {
    out.scalingSlope = out.fit.b;
    out.scalingSlopeCI95 = out.fit.slopeCI95 ?? null;
  }
  return out;
}
