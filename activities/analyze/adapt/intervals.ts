// The interval of each target quantity from the cells' results, on the target's eval set.
//
// A slope-type interval (slope, ratio, equivalent) is the hull (the span of the union) of three
// intervals built from different draws (resample.ts), and the hull is what is reported:
// - the fit interval, from the power law fitted to per-N means, with distinct N - 2 degrees of
//   freedom. Its residual variance holds N-level effects (an offset shared by every seed at one N,
//   e.g. the same real subset's luck or a recipe that suits one N), which nothing computed from
//   seeds within N can see; with few N its t quantile is large, the honest price of few N. But its
//   width rests on m - 2 df: a fit that happens to lie close to a line gives a falsely narrow one;
// - the seed-noise t-interval: the same fit's variance from seed noise alone (the seed variance of
//   ln y pooled over N, with its many df). The true variance is at least this, so it is the floor
//   that keeps a lucky fit from claiming more precision than the seeds allow;
// - the seed bootstrap (seeds resampled within each N, refitted; the analysis's method): no normal
//   model and no pooling over N, so it guards a seed noise that differs between N. On its own it
//   under-covers whenever N-level effects exist (the tests measure it), and with 2 seeds it is far
//   too narrow.
// Gaps at one N use the Welch t-interval of the two per-N means, hulled with the seed bootstrap of
// the difference. Ratios and equivalents are computed draw by draw on each kind of draws. What
// cannot be computed is never given a number.
import { createRng } from '../../../core/rng.js';
import { percentileInterval } from '../../../core/stats/bootstrap.js';
import type { ResolvedTarget, TargetInterval } from '../../../contracts/adaptive.js';
import type { CellMetrics } from '../../../contracts/types.js';
import { curveLevels, fitMeans, invertFit, mean, sampleVariance, seedNoise, type CurveMetric, type Level, type MeansFit, type SeedNoise } from './curve.js';
import { twoSidedT } from './quantile.js';
import { fitDraws, seedDraws, seedNoiseCovariance, seedNoiseDraws, tVariates, type CoefficientDraws, type SeedDraws } from './resample.js';

export interface IntervalOptions {
  level: number;
  bootstrapDraws: number;
  bootstrapSeed: number;
  /** The analysis's gates: a slope over fewer N or a narrower span is withheld there, so not met here. */
  gates?: { minSizes?: number; minDecades?: number };
}

/** One curve read once for all the targets that use it. */
export interface Curve {
  levels: Level[];
  fit: MeansFit | null;
  noise: SeedNoise;
  fitDraws: CoefficientDraws | null;
  /** Null without a fit or without any N of 2 seeds. */
  noiseDraws: CoefficientDraws | null;
  seedDraws: SeedDraws;
}

type Part = { method: string; lo: number | null; hi: number | null };

export const fmt = (x: number, digits = 3): string => (Number.isFinite(x) ? Number(x.toPrecision(digits)).toString() : String(x));

/** Reads curves on demand, each once. */
export function curveReader(cells: readonly CellMetrics[], opts: IntervalOptions): (source: string, evalSet: string, metric: CurveMetric) => Curve {
  const cache = new Map<string, Curve>();
  return (source, evalSet, metric) => {
    const key = `${opts.bootstrapSeed}|${source}|${evalSet}|${metric}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const levels = curveLevels(cells, source, evalSet, metric);
    const fit = fitMeans(levels);
    const noise = seedNoise(levels);
    const curve: Curve = {
      levels,
      fit,
      noise,
      fitDraws: fit ? fitDraws(fit, opts.bootstrapDraws, createRng(`adapt-fit|${key}`)) : null,
      noiseDraws: fit ? seedNoiseDraws(levels, fit, noise, opts.bootstrapDraws, createRng(`adapt-noise|${key}`)) : null,
      seedDraws: seedDraws(levels, opts.bootstrapDraws, `adapt-seeds|${key}`),
    };
    cache.set(key, curve);
    return curve;
  };
}

const tq = twoSidedT;

function result(t: ResolvedTarget, estimate: number | null, parts: Part[], method: string, blocked?: string, lnSpace = false): TargetInterval {
  const bounded = parts.length > 0 && parts.every((p) => p.lo !== null && p.hi !== null);
  const lo = bounded ? Math.min(...parts.map((p) => p.lo!)) : null;
  const hi = bounded ? Math.max(...parts.map((p) => p.hi!)) : null;
  const halfWidth = lo !== null && hi !== null ? (lnSpace ? Math.log(hi / lo) : hi - lo) / 2 : null;
  const met = blocked === undefined && halfWidth !== null && halfWidth <= t.wanted * (1 + 1e-12);
  const out: TargetInterval = { id: t.id, label: t.label, estimate, lo, hi, halfWidth, wanted: t.wanted, met, method, components: parts };
  if (blocked !== undefined) out.reason = blocked;
  else if (halfWidth === null) out.reason = 'the interval is unbounded: too many draws had no value (e.g. a real slope draw at or below 0)';
  else if (!met) out.reason = `±${fmt(halfWidth)} vs ±${fmt(t.wanted)} wanted`;
  return out;
}

function none(t: ResolvedTarget, reason: string, estimate: number | null = null): TargetInterval {
  return { id: t.id, label: t.label, estimate, lo: null, hi: null, halfWidth: null, wanted: t.wanted, met: false, method: 'none', reason };
}

/** The two ends of a percentile interval of draws. */
function ends(draws: Float64Array, level: number): { lo: number | null; hi: number | null } {
  const { lo, hi } = percentileInterval(draws, level);
  return { lo, hi };
}

const pct = (draws: Float64Array, level: number): Part => ({ method: `seed bootstrap (${draws.length} draws)`, ...ends(draws, level) });

/** Why a curve has no slope interval, or null when it has one. */
function slopeBlocker(source: string, curve: Curve): string | null {
  if (curve.levels.length === 0) return `${source} has no results on this eval set yet`;
  if (!curve.fit) return curve.levels.length < 2 ? `${source} has 1 distinct N: a slope needs 3` : `${source} has a mean at or below 0: no power law in log space`;
  if (!curve.fitDraws) return `${source} has ${curve.fit.m} distinct N: a slope interval needs 3 (distinct N - 2 degrees of freedom)`;
  return null;
}

/**
 * Distinct N a fit needs before its interval may count as met: with 3 (1 residual df) the width is
 * itself so noisy (a 16% chance of less than a fifth of its typical value) that stopping on a narrow
 * one would stop on luck.
 */
export const MIN_SIZES_TO_MEET = 4;

/** Why this curve's slope may not count as met: too few N to trust its width, or the analysis's gates (size, span). */
function gateBlocker(source: string, curve: Curve, gates: IntervalOptions['gates']): string | undefined {
  const m = curve.levels.length;
  const decades = m ? Math.log10(curve.levels[m - 1]!.n / curve.levels[0]!.n) : 0;
  if (m < MIN_SIZES_TO_MEET) return `${source} has ${m} distinct N; a slope's interval counts as met from ${MIN_SIZES_TO_MEET} (with fewer, its width is too noisy to stop on)`;
  if (gates?.minSizes !== undefined && m < gates.minSizes) return `${source} has ${m} distinct N; the analysis withholds slopes over fewer than ${gates.minSizes}`;
  if (gates?.minDecades !== undefined && decades < gates.minDecades - 1e-9)
    return `${source}'s N span ${fmt(decades)} decades; the analysis withholds slopes over fewer than ${gates.minDecades}`;
  return undefined;
}

function slopeInterval(t: ResolvedTarget, curve: Curve, opts: IntervalOptions): TargetInterval {
  const blocker = slopeBlocker(t.source, curve);
  if (blocker !== null) return none(t, blocker, curve.fit?.b ?? null);
  const fit = curve.fit!;
  const half = tq(opts.level, fit.df) * Math.sqrt(fit.s2 / fit.sxx);
  const parts: Part[] = [{ method: `t-interval of the fit on per-N means (df=${fit.df})`, lo: fit.b - half, hi: fit.b + half }];
  if (curve.noise.df >= 1) {
    const seedHalf = tq(opts.level, curve.noise.df) * Math.sqrt(seedNoiseCovariance(curve.levels, fit, curve.noise.pooled).varBeta);
    parts.push({ method: `seed-noise t-interval (pooled over N, df=${curve.noise.df})`, lo: fit.b - seedHalf, hi: fit.b + seedHalf });
  }
  parts.push(pct(curve.seedDraws.b, opts.level));
  return result(t, fit.b, parts, 'hull of the fit t-interval on per-N means, the seed-noise t-interval and the seed bootstrap', gateBlocker(t.source, curve, opts.gates));
}

function ratioInterval(t: ResolvedTarget, src: Curve, real: Curve, opts: IntervalOptions): TargetInterval {
  const blocker = slopeBlocker(t.source, src) ?? slopeBlocker(t.real!, real);
  const rb = real.fit?.b ?? Number.NaN;
  const estimate = src.fit && rb !== 0 ? src.fit.b / rb : null;
  if (blocker !== null) return none(t, blocker, estimate);
  if (!(rb > 0)) return none(t, `${t.real}'s ${t.metric} does not fall with N (b = ${fmt(rb)}): no ratio to it`, null);
  const ratio = (s: CoefficientDraws, r: CoefficientDraws) => s.b.map((b, d) => (r.b[d]! > 0 ? b / r.b[d]! : Number.NaN));
  const parts: Part[] = [{ ...ends(ratio(src.fitDraws!, real.fitDraws!), opts.level), method: `ratio of the fits' t draws (df=${src.fit!.df}, ${real.fit!.df})` }];
  if (src.noiseDraws && real.noiseDraws) parts.push({ ...ends(ratio(src.noiseDraws, real.noiseDraws), opts.level), method: `ratio of seed-noise t draws (df=${src.noise.df}, ${real.noise.df})` });
  parts.push(pct(ratio(src.seedDraws, real.seedDraws), opts.level));
  return result(t, estimate, parts, 'hull of the ratio of fit t draws, of seed-noise t draws and of seed-bootstrap draws', gateBlocker(t.source, src, opts.gates) ?? gateBlocker(t.real!, real, opts.gates));
}

/** The level of a curve at N, or a reason it cannot be used for a one-N comparison. */
function levelAt(source: string, curve: Curve, n: number, minSeeds: number): { index: number; level: Level } | string {
  const index = curve.levels.findIndex((l) => l.n === n);
  if (index < 0) return `${source} has no results at N=${n} yet`;
  const level = curve.levels[index]!;
  if (level.values.length < minSeeds) return `${source} has ${level.values.length} seed at N=${n}: an interval there needs ${minSeeds}`;
  return { index, level };
}

/** The Welch t-interval's half-width and df of a difference of two means with variances qa, qb of their own dfs. */
function welch(qa: number, dfa: number, qb: number, dfb: number, level: number): { half: number; df: number } {
  const q = qa + qb;
  const df = q > 0 ? q ** 2 / (qa ** 2 / dfa + qb ** 2 / dfb) : dfa + dfb;
  return { half: tq(level, df) * Math.sqrt(q), df };
}

/**
 * An accuracy gap (or mixing gain) at one N: the Welch t-interval of the two per-N means (each
 * level's own seed variance), the same with the seed variance pooled over each source's N (var of
 * accuracy = var of error = v e², v the pooled variance of ln error: the floor that 2 seeds whose
 * values happen to agree cannot undercut), and the seed bootstrap of the difference; their hull.
 */
function gapInterval(t: ResolvedTarget, src: Curve, real: Curve, noise: [SeedNoise, SeedNoise], opts: IntervalOptions): TargetInterval {
  const n = t.n!;
  const a = levelAt(t.source, src, n, 2);
  const b = levelAt(t.real!, real, n, 2);
  if (typeof a === 'string' || typeof b === 'string') {
    const estimate = typeof a !== 'string' && typeof b !== 'string' ? mean(a.level.values) - mean(b.level.values) : null;
    return none(t, typeof a === 'string' ? a : (b as string), estimate);
  }
  const [va, vb] = [a.level.values, b.level.values];
  const estimate = mean(va) - mean(vb);
  const own = welch(sampleVariance(va) / va.length, va.length - 1, sampleVariance(vb) / vb.length, vb.length - 1, opts.level);
  const parts: Part[] = [{ method: `Welch t-interval of the per-N means (df=${fmt(own.df)})`, lo: estimate - own.half, hi: estimate + own.half }];
  const [na, nb] = noise;
  if (na.df >= 1 && nb.df >= 1) {
    const q = (v: number, values: number[]) => (v * (1 - mean(values)) ** 2) / values.length;
    const pooled = welch(q(na.pooled, va), na.df, q(nb.pooled, vb), nb.df, opts.level);
    parts.push({ method: `Welch t-interval with seed noise pooled over N (df=${fmt(pooled.df)})`, lo: estimate - pooled.half, hi: estimate + pooled.half });
  }
  const diff = src.seedDraws.means[a.index]!.map((x, d) => x - real.seedDraws.means[b.index]![d]!);
  parts.push(pct(diff, opts.level));
  return result(t, estimate, parts, `hull of the Welch t-intervals (own and pooled seed noise) and the seed bootstrap at N=${n}`);
}

/** Per draw, ln N where the real draw's power law reaches the source's drawn mean. */
function lnEquivalents(real: CoefficientDraws, lnY: Float64Array): Float64Array {
  return lnY.map((y, d) => invertFit({ lnA: real.lnA[d]!, b: real.b[d]! }, y));
}

/**
 * How many real images the source's N images are worth: the real fit inverted at the source's mean
 * at N. The fit draws carry the real fit's prediction variance at ln N_eq; the source's mean gets a
 * t draw from its pooled seed noise (a constant sd of ln y across N, df from every level).
 */
function equivalentInterval(t: ResolvedTarget, src: Curve, real: Curve, opts: IntervalOptions): TargetInterval {
  const n = t.n!;
  const blocker = slopeBlocker(t.real!, real);
  if (blocker !== null) return none(t, blocker);
  const fit = real.fit!;
  if (!(fit.b > 0)) return none(t, `${t.real}'s ${t.metric} does not fall with N (b = ${fmt(fit.b)}): it cannot be inverted`);
  const at = levelAt(t.source, src, n, 1);
  if (typeof at === 'string') return none(t, at);
  const ySrc = mean(at.level.values);
  if (!(ySrc > 0)) return none(t, `${t.source}'s mean ${t.metric} at N=${n} is not positive`);
  if (!(src.noise.df >= 1)) return none(t, `${t.source} has no N with 2 seeds yet: its seed noise is unknown`);
  const estimate = Math.exp(invertFit(fit, Math.log(ySrc)));
  const sd = Math.sqrt(src.noise.pooled / at.level.values.length);
  const tv = tVariates(createRng(`adapt-eq|${opts.bootstrapSeed}|${t.id}`), src.noise.df, opts.bootstrapDraws);
  const lnYFit = tv.map((v) => Math.log(ySrc) + sd * v);
  const lnYSeed = src.seedDraws.means[at.index]!.map((y) => (y > 0 ? Math.log(y) : Number.NaN));
  const exp = (p: { lo: number | null; hi: number | null }) => ({ lo: p.lo === null ? null : Math.exp(p.lo), hi: p.hi === null ? null : Math.exp(p.hi) });
  const parts: Part[] = [{ method: `real fit t draws (df=${fit.df}) at the source mean (pooled seed noise, df=${src.noise.df})`, ...exp(ends(lnEquivalents(real.fitDraws!, lnYFit), opts.level)) }];
  if (real.noiseDraws) parts.push({ method: `real seed-noise t draws (df=${real.noise.df}) at the source mean`, ...exp(ends(lnEquivalents(real.noiseDraws, lnYFit), opts.level)) });
  parts.push({ method: `seed bootstrap (${opts.bootstrapDraws} draws)`, ...exp(ends(lnEquivalents(real.seedDraws, lnYSeed), opts.level)) });
  const [lo, hi] = [fit.ns[0]!, fit.ns[fit.m - 1]!];
  const where = estimate < lo || estimate > hi ? `; extrapolated beyond ${t.real}'s N (${lo}-${hi})` : '';
  return result(t, estimate, parts, `hull of real-fit t draws, real seed-noise t draws and seed-bootstrap draws, in ln N${where}`, gateBlocker(t.real!, real, opts.gates), true);
}

/** Every target's interval from the cells (only those on the target's eval set count). */
export function targetIntervals(cells: readonly CellMetrics[], targets: readonly ResolvedTarget[], opts: IntervalOptions): TargetInterval[] {
  const read = curveReader(cells, opts);
  return targets.map((t) => {
    const src = read(t.source, t.evalSet, t.metric);
    const real = t.real === undefined ? src : read(t.real, t.evalSet, t.metric);
    switch (t.quantity) {
      case 'slope':
        return slopeInterval(t, src, opts);
      case 'slopeRatio':
        return ratioInterval(t, src, real, opts);
      case 'accuracyGap':
      case 'mixingGain':
        return gapInterval(t, src, real, [read(t.source, t.evalSet, 'error').noise, read(t.real!, t.evalSet, 'error').noise], opts);
      case 'realEquivalent':
        return equivalentInterval(t, src, real, opts);
    }
  });
}
