// The decision rule of an adaptive sweep: a deterministic function of the stored results. Stop when
// every target is met, when the budget is spent or no candidate fits what is left of it, or when the
// envelope has no cell left for an unmet target. Otherwise choose up to cellsPerRound cells, one
// action at a time: for the unmet target with the widest predicted (half-width / wanted), the action
// with the largest predicted reduction of that ratio per training image; until the round is full or
// every target is predicted met.
import type { AdaptiveAction, AdaptiveDecision, AdaptiveSpec, AdaptiveSpent, CellRef, ResolvedTarget, TargetInterval } from '../../../contracts/adaptive.js';
import type { CellMetrics } from '../../../contracts/types.js';
import { candidatesFor, cellKey, envelopeRest, involvedSources, type Candidate, type CandidateContext } from './candidates.js';
import { curveReader, fmt, targetIntervals, type IntervalOptions } from './intervals.js';
import { noiseNote, predictTarget, type PredictContext } from './predict.js';

export interface DecideInput {
  adaptive: Pick<AdaptiveSpec, 'budget' | 'cellsPerRound' | 'level'>;
  /** The spec's targets, resolved (contracts/adaptive.ts resolveTargets). */
  targets: readonly ResolvedTarget[];
  /** The spec's sizes and seeds: every cell the loop may choose. */
  envelope: { sizes: readonly number[]; seeds: readonly number[] };
  /** Every result so far (all eval sets). */
  cells: readonly CellMetrics[];
  /** Every cell trained so far, with results or not. */
  done: readonly CellRef[];
  spent: AdaptiveSpent;
  round: number;
  bootstrap: { draws: number; seed: number };
  gates?: IntervalOptions['gates'];
}

/** Training hours per image from the cells' own training seconds; null before any. */
function hoursPerImage(cells: readonly CellMetrics[]): number | null {
  const seen = new Map<string, CellMetrics>();
  for (const c of cells) seen.set(cellKey(c), c);
  let seconds = 0;
  let images = 0;
  for (const c of seen.values()) {
    if (!(c.trainSeconds > 0)) continue;
    seconds += c.trainSeconds;
    images += c.size;
  }
  return images > 0 ? seconds / images / 3600 : null;
}

/** What the budget leaves for this round, or why nothing is left. */
function budgetLeft(input: DecideInput): { cells: number; images: number; hours: number; spentOut: string | null } {
  const { budget } = input.adaptive;
  const { spent } = input;
  const left = { cells: (budget.cells ?? Infinity) - spent.cells, images: (budget.images ?? Infinity) - spent.images, hours: (budget.hours ?? Infinity) - spent.hours };
  const out: string[] = [];
  if (left.cells <= 0) out.push(`${spent.cells} of ${budget.cells} cells`);
  if (left.images <= 0) out.push(`${spent.images} of ${budget.images} images`);
  if (left.hours <= 0) out.push(`${fmt(spent.hours)} of ${budget.hours} hours`);
  return { ...left, spentOut: out.length ? `spent ${out.join(', ')}` : null };
}

const ACTION_ORDER = ['seed', 'new-size', 'span', 'bracket'];

/** Best first: score, then cheaper, then a fixed order of kind, source, N. */
function better(a: { score: number; c: Candidate }, b: { score: number; c: Candidate }): number {
  return b.score - a.score || a.c.cost - b.c.cost || ACTION_ORDER.indexOf(a.c.kind) - ACTION_ORDER.indexOf(b.c.kind) || a.c.source.localeCompare(b.c.source) || a.c.size - b.c.size;
}

function actionPhrase(c: Candidate, t: ResolvedTarget, ctx: PredictContext): string {
  const n = c.size;
  const seeds = `${c.seeds.length} seed${c.seeds.length === 1 ? '' : 's'}`;
  switch (c.kind) {
    case 'seed':
      return `seed ${c.seeds[0]} at N=${n} of ${c.source}`;
    case 'span':
      return `a new N=${n} (${seeds}) extends ${c.source}'s span`;
    case 'bracket':
      return `a real N=${n} (${seeds}) next to the equivalent (${noiseNote(t, ctx).split(';')[0]})`;
    default:
      return `a new N=${n} (${seeds}) for ${c.source}`;
  }
}

const hwText = (hw: number) => (Number.isFinite(hw) ? `±${fmt(hw, 2)}` : 'no interval');

/** Stateful pieces of one round's choice, for the helpers below. */
interface Round {
  input: DecideInput;
  ctx: CandidateContext;
  reported: Map<string, TargetInterval>;
  calibration: Map<string, number>;
  pending: CellRef[];
  images: number;
  left: ReturnType<typeof budgetLeft>;
  perImageHours: number | null;
}

/** (half-width / wanted) of a target with `pending` added: calibrated to the reported width, plus the gate shortfall. */
function ratioOf(round: Round, t: ResolvedTarget, pending: readonly CellRef[]): { ratio: number; halfWidth: number } {
  const p = predictTarget(t, round.ctx, pending);
  const touched = pending.some((c) => c.source === t.source || c.source === t.real);
  const rep = round.reported.get(t.id)!;
  const halfWidth = touched || rep.halfWidth === null ? p.halfWidth * (round.calibration.get(t.id) ?? 1) : rep.halfWidth;
  const unknownNow = !touched && rep.halfWidth === null;
  const ratio = unknownNow ? Infinity : p.shortfall > 0 ? Math.max(halfWidth / t.wanted, 1) + p.shortfall : halfWidth / t.wanted;
  return { ratio, halfWidth: unknownNow ? Infinity : halfWidth };
}

/** Whether a candidate fits the round and the budget after what is pending. */
function fits(round: Round, c: Candidate): boolean {
  const { cellsPerRound } = round.input.adaptive;
  if (round.pending.length + c.cells.length > cellsPerRound || round.pending.length + c.cells.length > round.left.cells) return false;
  if (round.images + c.cost > round.left.images) return false;
  return round.perImageHours === null || (round.images + c.cost) * round.perImageHours <= round.left.hours;
}

/** The best action for one target, or null when none fits or none is predicted to narrow it. */
function bestFor(round: Round, t: ResolvedTarget, fallback: boolean): AdaptiveAction | null {
  const now = ratioOf(round, t, round.pending);
  const scored = candidatesFor(t, round.ctx, round.pending)
    .filter((c) => fits(round, c))
    .map((c) => ({ c, after: ratioOf(round, t, [...round.pending, ...c.cells]) }));
  const finite = scored.filter((s) => Number.isFinite(s.after.ratio)).map((s) => s.after.ratio);
  // With no interval now, any action that makes one computable is a gain; rank those by what they reach.
  const before = Number.isFinite(now.ratio) ? now.ratio : finite.length ? 2 * Math.max(...finite) : NaN;
  const ranked = scored
    .map((s) => ({ ...s, score: fallback ? -s.c.cost : (before - s.after.ratio) / s.c.cost }))
    .filter((s) => fallback || (Number.isFinite(s.score) && s.score > 0))
    .sort(better);
  const best = ranked[0];
  if (!best) return null;
  const why = fallback ? 'no action is predicted to narrow it; the cheapest cell that adds data to it' : `${actionPhrase(best.c, t, round.ctx)}: predicted ${hwText(best.after.halfWidth)} per ${best.c.cost} images`;
  return {
    kind: best.c.kind,
    source: best.c.source,
    size: best.c.size,
    seeds: best.c.seeds,
    target: t.id,
    predictedHalfWidth: best.after.halfWidth,
    cost: best.c.cost,
    reason: `${t.label}: ${hwText(now.halfWidth)} vs ±${fmt(t.wanted, 2)} wanted; ${noiseNote(t, round.ctx)}; ${why}`,
  };
}

/** How much wider than wanted the whole envelope must be predicted to leave a target before the loop gives up on it. */
const OUT_OF_REACH_MARGIN = 1.2;

/**
 * Why a target is out of reach, or null: even every cell the envelope has left for it is predicted
 * to leave it OUT_OF_REACH_MARGIN times wider than wanted. Trusted only when each curve it reads has
 * 3 or more residual (or seed) degrees of freedom: earlier, tau² and the seed noise are too rough to
 * give up on. Spending on a target out of reach would only wait for a lucky narrow interval, and
 * stopping on one is what makes sequential intervals under-cover.
 */
function outOfReach(round: Round, t: ResolvedTarget): string | null {
  const rest = envelopeRest(t, round.ctx);
  if (!rest.length) return `${t.label}: the envelope has no cell left for it`;
  const full = ratioOf(round, t, rest);
  if (!(full.ratio > OUT_OF_REACH_MARGIN) || !Number.isFinite(full.ratio)) return null;
  const metric = t.metric === 'accuracy' ? 'error' : t.metric;
  const { curve, atN } = involvedSources(t);
  const read = (source: string) => round.ctx.read(source, t.evalSet, metric);
  const trusted = curve.every((s) => (read(s).fit?.df ?? 0) >= 3) && atN.every((s) => read(s).noise.df >= 3);
  return trusted ? `${t.label}: predicted ${hwText(full.halfWidth)} with all ${rest.length} cells the envelope has left for it, vs ±${fmt(t.wanted, 2)} wanted` : null;
}

/** Greedy choice of the round's actions, widest target first. */
function chooseActions(round: Round, unmet: ResolvedTarget[]): AdaptiveAction[] {
  const actions: AdaptiveAction[] = [];
  const take = (a: AdaptiveAction) => {
    actions.push(a);
    for (const seed of a.seeds) {
      const cell = { source: a.source, size: a.size, seed };
      round.pending.push(cell);
      round.ctx.used.add(cellKey(cell));
    }
    round.images += a.cost;
    round.ctx.maxCells = Math.min(round.input.adaptive.cellsPerRound - round.pending.length, round.left.cells - round.pending.length);
  };
  while (round.pending.length < round.input.adaptive.cellsPerRound) {
    const open = unmet
      .map((t, i) => ({ t, i, ratio: ratioOf(round, t, round.pending).ratio }))
      .filter((x) => x.ratio > 1)
      .sort((a, b) => b.ratio - a.ratio || a.i - b.i);
    if (!open.length) break;
    let picked: AdaptiveAction | null = null;
    for (const { t } of open) if ((picked = bestFor(round, t, false))) break;
    if (!picked && !actions.length) for (const { t } of open) if ((picked = bestFor(round, t, true))) break;
    if (!picked) break;
    take(picked);
  }
  return actions;
}

/** The next round's cells, or why the loop stops. */
export function decideNext(input: DecideInput): AdaptiveDecision {
  const { adaptive, targets, cells, done, spent, round: index } = input;
  const opts: IntervalOptions = { level: adaptive.level, bootstrapDraws: input.bootstrap.draws, bootstrapSeed: input.bootstrap.seed, ...(input.gates ? { gates: input.gates } : {}) };
  const intervals = targetIntervals(cells, targets, opts);
  const base = { round: index, intervals, spent: { ...spent } };
  const unmet = targets.filter((_, i) => !intervals[i]!.met);
  if (!unmet.length) return { ...base, cells: [], actions: [], stop: { reason: 'targets-met', detail: `all ${targets.length} targets met after ${spent.cells} cells` } };
  const left = budgetLeft(input);
  if (left.spentOut) return { ...base, cells: [], actions: [], stop: { reason: 'budget', detail: `${left.spentOut}; unmet: ${unmet.map((t) => t.label).join('; ')}` } };
  const used = new Set([...done, ...cells].map(cellKey));
  const ctx: CandidateContext = { read: curveReader(cells, opts), level: adaptive.level, envelope: input.envelope, used, maxCells: Math.min(adaptive.cellsPerRound, left.cells), ...(input.gates ? { gates: input.gates } : {}) };
  const reported = new Map(intervals.map((iv) => [iv.id, iv]));
  const calibration = new Map<string, number>();
  for (const t of unmet) {
    const hw = reported.get(t.id)!.halfWidth;
    const p = predictTarget(t, ctx, []).halfWidth;
    if (hw !== null && Number.isFinite(p) && p > 0) calibration.set(t.id, hw / p);
  }
  const round: Round = { input, ctx, reported, calibration, pending: [], images: 0, left, perImageHours: hoursPerImage(cells) };
  const outOf = new Map(unmet.map((t) => [t.id, outOfReach(round, t)]));
  const reachable = unmet.filter((t) => outOf.get(t.id) === null);
  if (!reachable.length) return { ...base, cells: [], actions: [], stop: { reason: 'envelope-exhausted', detail: [...outOf.values()].join('; ') } };
  const actions = chooseActions(round, reachable);
  if (actions.length) return { ...base, cells: actions.flatMap((a) => a.seeds.map((seed) => ({ source: a.source, size: a.size, seed }))), actions, stop: null };
  const anyLeft = reachable.some((t) => candidatesFor(t, { ...ctx, maxCells: Infinity }, []).length > 0);
  const stop = anyLeft
    ? { reason: 'budget' as const, detail: `no cell that could narrow an unmet target fits what is left of the budget (${[...(Number.isFinite(left.cells) ? [`${left.cells} cells`] : []), ...(Number.isFinite(left.images) ? [`${left.images} images`] : []), ...(Number.isFinite(left.hours) ? [`${fmt(left.hours)} hours`] : [])].join(', ')})` }
    : { reason: 'envelope-exhausted' as const, detail: `every size x seed of the envelope is trained for the sources of: ${unmet.map((t) => t.label).join('; ')}` };
  return { ...base, cells: [], actions: [], stop };
}
