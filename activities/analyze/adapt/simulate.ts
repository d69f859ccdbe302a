// A simulated adaptive sweep with a known truth, for the tests and a bench: per source, error(N) =
// a N^-b and loss(N) likewise, times exp(an N-level offset drawn once per (source, N) per sweep, sd
// tau, plus seed noise, sd seedSd). Each cell's result is a function of (rngSeed, source, N, seed)
// alone, so an adaptive run and a fixed grid with the same rngSeed read the same world.
import { createRng } from '../../../core/rng.js';
import { initialCells, logSpreadSizes, resolveTargets, type AdaptiveDecision, type AdaptiveSpec, type AdaptiveSweepShape, type CellRef, type ResolvedTarget, type TargetInterval } from '../../../contracts/adaptive.js';
import type { CellMetrics } from '../../../contracts/types.js';
import { decideNext } from './decide.js';
import { targetIntervals, type IntervalOptions } from './intervals.js';

export interface SourceTruth {
  kind: 'real' | 'synthetic' | 'mixed' | 'control';
  error: { a: number; b: number };
  loss: { a: number; b: number };
  /** sd of ln y between seeds at one N. */
  seedSd: number;
  /** sd of ln y's offset shared by every seed at one N (0: none). */
  tau: number;
  /** A mixed source's real part. */
  real?: string;
}

export interface SimTruth {
  sources: Record<string, SourceTruth>;
  /** Training seconds per image, for the hours budget (default 0.001). */
  secondsPerImage?: number;
}

export interface SimOptions {
  bootstrapDraws?: number;
  bootstrapSeed?: number;
  gates?: IntervalOptions['gates'];
  /** A guard against a loop that never stops (default 500). */
  maxRounds?: number;
}

export interface SimEnvelope {
  sizes: readonly number[];
  seeds: readonly number[];
}

const EVAL_SET = 'test';

/** The spec shape the loop's helpers read, from the truth's sources. */
export function simShape(truth: SimTruth, envelope: SimEnvelope): AdaptiveSweepShape {
  const sources = Object.entries(truth.sources).map(([name, s]) => ({ name, kind: s.kind, ...(s.real ? { real: s.real } : {}) }));
  return { sizes: envelope.sizes, seeds: envelope.seeds, sources, eval: [{ name: EVAL_SET }] };
}

/** One simulated world: every cell's result and the N-level offsets behind them. */
export function simWorld(truth: SimTruth, rngSeed: number | string): { offset(source: string, n: number): number; train(cell: CellRef): CellMetrics } {
  const offsets = new Map<string, number>();
  const offset = (source: string, n: number) => {
    const key = `${source}|${n}`;
    if (!offsets.has(key)) offsets.set(key, truth.sources[source]!.tau * createRng(`sim|${rngSeed}|offset|${key}`).normal());
    return offsets.get(key)!;
  };
  const train = (cell: CellRef): CellMetrics => {
    const s = truth.sources[cell.source]!;
    const noise = offset(cell.source, cell.size) + s.seedSd * createRng(`sim|${rngSeed}|cell|${cell.source}|${cell.size}|${cell.seed}`).normal();
    const error = Math.min(0.999, s.error.a * cell.size ** -s.error.b * Math.exp(noise));
    const loss = s.loss.a * cell.size ** -s.loss.b * Math.exp(noise);
    const trainSeconds = cell.size * (truth.secondsPerImage ?? 0.001);
    return { ...cell, evalSet: EVAL_SET, loss, accuracy: 1 - error, ece: 0, perClassAccuracy: [], trainSteps: 0, trainSeconds, resultUri: 'sim://' };
  };
  return { offset, train };
}

/** Each target's true value in a world: slopes and ratios of the power laws; one-N quantities of the expected metric there. */
export function truthValues(truth: SimTruth, targets: readonly ResolvedTarget[], world: ReturnType<typeof simWorld>): Record<string, number> {
  const law = (source: string, metric: 'error' | 'loss') => truth.sources[source]![metric];
  // E[y(N)] given the N-level offset: the seed noise is lognormal, so its mean adds sd²/2 in log space.
  const lnExpected = (source: string, metric: 'error' | 'loss', n: number, withOffset: boolean) => {
    const s = truth.sources[source]!;
    return Math.log(law(source, metric).a) - law(source, metric).b * Math.log(n) + (withOffset ? world.offset(source, n) : 0) + s.seedSd ** 2 / 2;
  };
  const out: Record<string, number> = {};
  for (const t of targets) {
    const metric = t.metric === 'loss' ? 'loss' : 'error';
    switch (t.quantity) {
      case 'slope':
        out[t.id] = law(t.source, metric).b;
        break;
      case 'slopeRatio':
        out[t.id] = law(t.source, metric).b / law(t.real!, metric).b;
        break;
      case 'accuracyGap':
      case 'mixingGain':
        out[t.id] = Math.exp(lnExpected(t.real!, 'error', t.n!, true)) - Math.exp(lnExpected(t.source, 'error', t.n!, true));
        break;
      case 'realEquivalent': {
        const real = law(t.real!, metric);
        const lnRealA = Math.log(real.a) + truth.sources[t.real!]!.seedSd ** 2 / 2;
        out[t.id] = Math.exp((lnRealA - lnExpected(t.source, metric, t.n!, true)) / real.b);
        break;
      }
    }
  }
  return out;
}

export interface SimResult {
  cellsUsed: number;
  imagesUsed: number;
  rounds: number;
  decisions: AdaptiveDecision[];
  final: TargetInterval[];
  truthValues: Record<string, number>;
  targets: ResolvedTarget[];
}

/** Runs the loop against one simulated world: round 0, then decideNext until it stops. */
export function simulateAdaptive(truth: SimTruth, adaptive: AdaptiveSpec, envelope: SimEnvelope, rngSeed: number | string, opts: SimOptions = {}): SimResult {
  const shape = simShape(truth, envelope);
  const targets = resolveTargets(shape, adaptive);
  const world = simWorld(truth, rngSeed);
  const cells: CellMetrics[] = [];
  const done: CellRef[] = [];
  const spent = { cells: 0, images: 0, hours: 0 };
  const train = (batch: readonly CellRef[]) => {
    for (const cell of batch) {
      const result = world.train(cell);
      cells.push(result);
      done.push(cell);
      spent.cells += 1;
      spent.images += cell.size;
      spent.hours += result.trainSeconds / 3600;
    }
  };
  train(initialCells(shape, adaptive));
  const decisions: AdaptiveDecision[] = [];
  const bootstrap = { draws: opts.bootstrapDraws ?? 400, seed: opts.bootstrapSeed ?? 0 };
  for (let round = 1; round <= (opts.maxRounds ?? 500); round++) {
    const decision = decideNext({ adaptive, targets, envelope, cells, done, spent: { ...spent }, round, bootstrap, ...(opts.gates ? { gates: opts.gates } : {}) });
    decisions.push(decision);
    if (decision.stop) break;
    train(decision.cells);
  }
  const final = decisions[decisions.length - 1]!.intervals;
  return { cellsUsed: spent.cells, imagesUsed: spent.images, rounds: decisions.length, decisions, final, truthValues: truthValues(truth, targets, world), targets };
}

/** A fixed grid's intervals in one world: every source of the truth at sizes x seeds. */
export function fixedGridIntervals(truth: SimTruth, adaptive: Pick<AdaptiveSpec, 'targets' | 'level'>, grid: SimEnvelope, rngSeed: number | string, opts: SimOptions = {}): { intervals: TargetInterval[]; cells: number; images: number } {
  const shape = simShape(truth, grid);
  const world = simWorld(truth, rngSeed);
  const refs = shape.sources.flatMap((s) => grid.sizes.flatMap((size) => grid.seeds.map((seed) => ({ source: s.name, size, seed }))));
  const intervals = targetIntervals(refs.map(world.train), resolveTargets(shape, adaptive), {
    level: adaptive.level,
    bootstrapDraws: opts.bootstrapDraws ?? 400,
    bootstrapSeed: opts.bootstrapSeed ?? 0,
    ...(opts.gates ? { gates: opts.gates } : {}),
  });
  return { intervals, cells: refs.length, images: refs.reduce((s, c) => s + c.size, 0) };
}

export interface FixedGrid {
  sizes: number[];
  seeds: number[];
  cells: number;
  images: number;
  /** Share of the worlds in which every chosen target was met. */
  metRate: number;
}

/**
 * The smallest fixed grid (fewest cells, then fewest images) of log-spread envelope sizes (3 up to
 * all) x the first k envelope seeds (2 up to all) whose intervals meet the targets `ids` (default:
 * all) in at least `rate` of the worlds `rngSeeds`; null when even the whole envelope does not.
 */
export function smallestFixedGrid(truth: SimTruth, adaptive: Pick<AdaptiveSpec, 'targets' | 'level'>, envelope: SimEnvelope, rngSeeds: readonly (number | string)[], rate: number, ids?: readonly string[], opts: SimOptions = {}): FixedGrid | null {
  const sources = Object.keys(truth.sources).length;
  const grids: { sizes: number[]; seeds: number[]; cells: number; images: number }[] = [];
  for (let m = Math.min(3, envelope.sizes.length); m <= envelope.sizes.length; m++) {
    const sizes = logSpreadSizes(envelope.sizes, m);
    for (let k = Math.min(2, envelope.seeds.length); k <= envelope.seeds.length; k++) {
      const seeds = envelope.seeds.slice(0, k);
      grids.push({ sizes, seeds, cells: sources * m * k, images: sources * k * sizes.reduce((s, n) => s + n, 0) });
    }
  }
  grids.sort((a, b) => a.cells - b.cells || a.images - b.images);
  for (const grid of grids) {
    let met = 0;
    for (const [i, seed] of rngSeeds.entries()) {
      const { intervals } = fixedGridIntervals(truth, adaptive, grid, seed, opts);
      if (intervals.every((iv) => (ids ? !ids.includes(iv.id) : false) || iv.met)) met++;
      if ((met + rngSeeds.length - 1 - i) / rngSeeds.length < rate) break; // out of reach: the next grid
    }
    if (met / rngSeeds.length >= rate) return { ...grid, metRate: met / rngSeeds.length };
  }
  return null;
}
