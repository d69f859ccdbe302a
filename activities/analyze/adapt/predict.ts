// A target's expected interval half-width under a design: the cells with results plus the cells
// chosen so far this round, through the variance model (model.ts). Also what dominates a target's
// width now, in words, for the decisions' reasons.
import type { CellRef, ResolvedTarget } from '../../../contracts/adaptive.js';
import type { CurveMetric } from './curve.js';
import { fmt, MIN_SIZES_TO_MEET, type Curve, type IntervalOptions } from './intervals.js';
import { noiseModel, predictEquivalent, predictGap, predictRatio, predictSlope, type Design, type NoiseModel, type SlopePrediction } from './model.js';

export interface PredictContext {
  read(source: string, evalSet: string, metric: CurveMetric): Curve;
  level: number;
  gates?: IntervalOptions['gates'];
}

/** Per curve, its noise model, built once. */
const models = new WeakMap<Curve, NoiseModel>();
export function modelOf(curve: Curve): NoiseModel {
  let m = models.get(curve);
  if (!m) models.set(curve, (m = noiseModel(curve)));
  return m;
}

/** Seeds per N of a source: its results on the curve's eval set plus the cells pending for it. */
export function designOf(curve: Curve, source: string, pending: readonly CellRef[]): Design {
  const design: Design = new Map(curve.levels.map((l) => [l.n, l.values.length]));
  for (const c of pending) if (c.source === source) design.set(c.size, (design.get(c.size) ?? 0) + 1);
  return design;
}

/** The curve whose noise a target's one-N comparison reads: ln error for accuracy (var(accuracy) = var(error)). */
const noiseMetric = (t: ResolvedTarget): CurveMetric => (t.metric === 'accuracy' ? 'error' : t.metric);

/** How far a design falls short of what a met slope needs (0 when it passes): missing N, plus missing decades / 0.3. */
function gateShortfall(p: SlopePrediction, gates: IntervalOptions['gates']): number {
  const sizes = Math.max(0, Math.max(MIN_SIZES_TO_MEET, gates?.minSizes ?? 0) - p.m);
  const span = gates?.minDecades !== undefined ? Math.max(0, gates.minDecades - p.decades) / 0.3 : 0;
  return sizes + span;
}

/** ln N_eq from the current fits: the real fit inverted at the source's mean at N. */
export function lnEquivalentNow(t: ResolvedTarget, ctx: PredictContext): number {
  const real = modelOf(ctx.read(t.real!, t.evalSet, t.metric));
  const y = modelOf(ctx.read(t.source, t.evalSet, t.metric)).yAt(t.n!);
  return real.b > 0 && y > 0 ? (real.lnA - Math.log(y)) / real.b : Number.NaN;
}

export interface Prediction {
  halfWidth: number;
  /** Gate shortfall of the curves a slope-type target fits (0 when none or passing). */
  shortfall: number;
}

/** The expected half-width of `t`'s interval once `pending` cells have results. */
export function predictTarget(t: ResolvedTarget, ctx: PredictContext, pending: readonly CellRef[]): Prediction {
  const curveOf = (source: string, metric: CurveMetric = noiseMetric(t)) => ctx.read(source, t.evalSet, metric);
  const slopeOf = (source: string) => {
    const curve = curveOf(source);
    return predictSlope(modelOf(curve), designOf(curve, source, pending), ctx.level);
  };
  const kAt = (source: string) => designOf(curveOf(source), source, pending).get(t.n!) ?? 0;
  switch (t.quantity) {
    case 'slope': {
      const p = slopeOf(t.source);
      return { halfWidth: p.halfWidth, shortfall: gateShortfall(p, ctx.gates) };
    }
    case 'slopeRatio': {
      const [s, r] = [slopeOf(t.source), slopeOf(t.real!)];
      const [bs, br] = [modelOf(curveOf(t.source)).b, modelOf(curveOf(t.real!)).b];
      return { halfWidth: predictRatio(s, r, bs / br, br), shortfall: gateShortfall(s, ctx.gates) + gateShortfall(r, ctx.gates) };
    }
    case 'accuracyGap':
    case 'mixingGain': {
      const a = { model: modelOf(curveOf(t.source)), k: kAt(t.source) };
      const b = { model: modelOf(curveOf(t.real!)), k: kAt(t.real!) };
      return { halfWidth: predictGap(a, b, t.n!, ctx.level), shortfall: 0 };
    }
    case 'realEquivalent': {
      const r = slopeOf(t.real!);
      const src = { model: modelOf(curveOf(t.source)), k: kAt(t.source) };
      return { halfWidth: predictEquivalent(r, modelOf(curveOf(t.real!)).b, lnEquivalentNow(t, ctx), src, ctx.level), shortfall: gateShortfall(r, ctx.gates) };
    }
  }
}

/** What makes a source's slope interval wide now: N-level scatter or seed noise, with their sizes. */
function slopeNoise(source: string, curve: Curve, level: number): string {
  const model = modelOf(curve);
  const p = predictSlope(model, designOf(curve, source, []), level);
  if (p.m < 3) return `${source} has ${p.m} distinct N (a slope interval needs 3)`;
  const what = model.tau2 > p.seedShare ? 'N-level scatter dominates' : 'seed noise dominates';
  return `${source}: ${what} (tau²=${fmt(model.tau2, 2)} vs seed v/k=${fmt(p.seedShare, 2)}, ${p.m} N over ${fmt(p.decades, 2)} decades)`;
}

/** What dominates a target's width now, in words. */
export function noiseNote(t: ResolvedTarget, ctx: PredictContext): string {
  const curveOf = (source: string) => ctx.read(source, t.evalSet, noiseMetric(t));
  switch (t.quantity) {
    case 'slope':
      return slopeNoise(t.source, curveOf(t.source), ctx.level);
    case 'slopeRatio':
      return `${slopeNoise(t.source, curveOf(t.source), ctx.level)}; ${slopeNoise(t.real!, curveOf(t.real!), ctx.level)}`;
    case 'accuracyGap':
    case 'mixingGain': {
      const sd = (source: string) => {
        const model = modelOf(curveOf(source));
        return `${fmt(Math.sqrt(model.v(t.n!)) * model.yAt(t.n!), 2)} (${source}, ${designOf(curveOf(source), source, []).get(t.n!) ?? 0} seeds)`;
      };
      return `seed sd of accuracy at N=${t.n}: ${sd(t.source)}, ${sd(t.real!)}`;
    }
    case 'realEquivalent': {
      const lnNeq = lnEquivalentNow(t, ctx);
      const where = Number.isFinite(lnNeq) ? `N_eq≈${fmt(Math.exp(lnNeq), 2)}` : 'no N_eq yet';
      return `${where}; ${slopeNoise(t.real!, curveOf(t.real!), ctx.level)}`;
    }
  }
}
