// Bootstrap draws over seeds. Each source's seeds are resampled with replacement within each N
// (one resampling per source, shared by its eval sets, whose evaluations score the same trained
// models); each curve's per-N means are recomputed per draw and the power law refitted. Different
// sources draw independently, so a ratio of two sources' draws is a paired bootstrap of the ratio.
// The draws stay in memory: the analysis keeps only their percentile intervals.
import { createRng } from '../../core/rng.js';
import { percentileInterval, resampleInto, type PercentileInterval } from '../../core/stats/bootstrap.js';
import { fitLogLog } from '../../core/stats/powerlaw.js';
import { fitPowerLawWithOffset } from '../../core/stats/offset-fit.js';
import type { ScalingMetric } from '../../contracts/analysis.js';
import type { CellMetrics } from '../../contracts/types.js';

/** One source's resampling: per N, its seeds (ascending) and, draw after draw, the positions drawn among them. */
export interface SeedResampling {
  draws: number;
  byN: Map<number, { seeds: number[]; picks: Uint32Array }>;
}

/** Seeded by the analysis seed and the source's name alone, so adding a source changes no other source's draws. */
export function seedResampling(source: string, cells: readonly CellMetrics[], draws: number, bootstrapSeed: number): SeedResampling {
  const seedsAt = new Map<number, Set<number>>();
  for (const c of cells) if (c.source === source) seedsAt.set(c.size, (seedsAt.get(c.size) ?? new Set()).add(c.seed));
  const rng = createRng(`bootstrap|${bootstrapSeed}|${source}`);
  const byN = new Map<number, { seeds: number[]; picks: Uint32Array }>();
  for (const n of [...seedsAt.keys()].sort((p, q) => p - q)) {
    const seeds = [...seedsAt.get(n)!].sort((p, q) => p - q);
    const picks = new Uint32Array(draws * seeds.length);
    for (let d = 0; d < draws; d++) resampleInto(rng, seeds.length, seeds.length, picks, d * seeds.length);
    byN.set(n, { seeds, picks });
  }
  return { draws, byN };
}

/** One curve's draws: per N (in the curve's order) the resampled means, and per metric the refitted power law. */
export interface CurveDraws {
  draws: number;
  ns: number[];
  loss: Float64Array[];
  accuracy: Float64Array[];
  fits: Record<ScalingMetric, { lnA: Float64Array; b: Float64Array }>;
}

/** The resampled means of a metric at the curve's k-th N (error = 1 - accuracy). */
export function meanDraws(draws: CurveDraws, metric: ScalingMetric | 'accuracy', k: number): Float64Array {
  if (metric === 'loss') return draws.loss[k]!;
  if (metric === 'accuracy') return draws.accuracy[k]!;
  return draws.accuracy[k]!.map((a) => 1 - a);
}

/** Per draw, the mean of `value` over the drawn seeds at one N (a seed missing on this eval set: its position among those present). */
function resampledMeans(cells: CellMetrics[], at: { seeds: number[]; picks: Uint32Array }, draws: number, value: (c: CellMetrics) => number): Float64Array {
  const bySeed = new Map(cells.map((c) => [c.seed, value(c)]));
  const present = cells.map(value);
  const values = at.seeds.map((seed, j) => bySeed.get(seed) ?? present[j % present.length]!);
  const s = at.seeds.length;
  const out = new Float64Array(draws);
  for (let d = 0; d < draws; d++) {
    let sum = 0;
    for (let j = 0; j < s; j++) sum += values[at.picks[d * s + j]!]!;
    out[d] = sum / s;
  }
  return out;
}

/** A curve's draws from its cells (one source, one eval set) and its source's resampling. */
export function curveDraws(group: readonly CellMetrics[], ns: number[], resampling: SeedResampling): CurveDraws {
  const { draws } = resampling;
  const loss: Float64Array[] = [];
  const accuracy: Float64Array[] = [];
  for (const n of ns) {
    const at = resampling.byN.get(n)!;
    const cells = group.filter((c) => c.size === n);
    loss.push(resampledMeans(cells, at, draws, (c) => c.loss));
    accuracy.push(resampledMeans(cells, at, draws, (c) => c.accuracy));
  }
  const out: CurveDraws = { draws, ns, loss, accuracy, fits: { loss: refit(ns, loss, draws, false), error: refit(ns, accuracy, draws, true) } };
  return out;
}

/** Per draw, ln a and b of the power law through the draw's per-N means (NaN where a mean is not positive). */
function refit(ns: number[], means: Float64Array[], draws: number, complement: boolean): { lnA: Float64Array; b: Float64Array } {
  const lx = ns.map((n) => Math.log(n));
  const ly = new Float64Array(ns.length);
  const lnA = new Float64Array(draws);
  const b = new Float64Array(draws);
  for (let d = 0; d < draws; d++) {
    for (let k = 0; k < ns.length; k++) {
      const y = complement ? 1 - means[k]![d]! : means[k]![d]!;
      ly[k] = y > 0 ? Math.log(y) : Number.NaN;
    }
    const fit = fitLogLog(lx, ly);
    lnA[d] = fit.lnA;
    b[d] = fit.b;
  }
  return { lnA, b };
}

/**
 * The offset fit's exponent over the draws: its 95% percentile interval, with an end left open where
 * more than 2.5% of draws sat at that end of the search interval or could not be fitted.
 */
export function offsetExponentInterval(draws: CurveDraws, metric: ScalingMetric): PercentileInterval {
  const bs = new Float64Array(draws.draws);
  const atBound = { below: 0, above: 0 };
  const ys = new Array<number>(draws.ns.length);
  const means = draws.ns.map((_, k) => meanDraws(draws, metric, k));
  for (let d = 0; d < draws.draws; d++) {
    for (let k = 0; k < ys.length; k++) ys[k] = means[k]![d]!;
    try {
      const fit = fitPowerLawWithOffset(draws.ns, ys);
      bs[d] = fit.b;
      if (fit.bAtBound === 'lower') atBound.below++;
      if (fit.bAtBound === 'upper') atBound.above++;
    } catch {
      bs[d] = Number.NaN;
    }
  }
  return percentileInterval(bs, 0.95, atBound);
}
