// One metric of one curve (loss or top-1 error against N): the monotonicity check, the plain and
// the offset power-law fits, and whether the fitted slope may be reported as a scaling exponent.
import type { MetricScaling, ScalingMetric } from '../../contracts/analysis.js';
import { checkMonotoneDecreasing, type MonotoneOptions, type MonotoneViolation } from '../../core/stats/monotone.js';
import { fitPowerLaw, fitPowerLawWithOffset } from '../../core/stats/powerlaw.js';

export const DEFAULT_MONOTONE: MonotoneOptions = { relTolerance: 0.01, seMultiplier: 2 };

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

/**
 * Fits one metric over all per-seed points (ns[i], ys[i]). The fits are kept even when unreliable,
 * for inspection; only a monotone curve with a positive exponent gets a headline scalingSlope.
 */
export function analyzeMetric(metric: ScalingMetric, ns: number[], ys: number[], monotoneOpts: MonotoneOptions): MetricScaling {
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
  if (!check.monotone) reasons.push(notMonotoneReason(metric, check.violations));
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
