// The cells the loop may add for one target: one more seed at an N a source already has, a new N
// of the envelope ('span' when it extends the source's range; 'bracket' for a real N next to an
// extrapolated equivalent), each with its cost in training images.
import type { ActionKind, CellRef, ResolvedTarget } from '../../../contracts/adaptive.js';
import { designOf, lnEquivalentNow, type PredictContext } from './predict.js';

export interface Candidate {
  kind: ActionKind;
  source: string;
  size: number;
  seeds: number[];
  cells: CellRef[];
  /** Training images: N per cell. */
  cost: number;
}

export interface CandidateContext extends PredictContext {
  envelope: { sizes: readonly number[]; seeds: readonly number[] };
  /** Cells trained, with results or not, and chosen this round: never chosen again. */
  used: Set<string>;
  /** At most this many cells in one action (what is left of the round and of the cell budget). */
  maxCells: number;
}

export const cellKey = (c: CellRef): string => `${c.source}|${c.size}|${c.seed}`;

/** The envelope's seeds not yet used at (source, N), in envelope order. */
function freeSeeds(ctx: CandidateContext, source: string, size: number): number[] {
  return ctx.envelope.seeds.filter((seed) => !ctx.used.has(cellKey({ source, size, seed })));
}

function candidate(kind: ActionKind, source: string, size: number, seeds: number[]): Candidate {
  return { kind, source, size, seeds, cells: seeds.map((seed) => ({ source, size, seed })), cost: size * seeds.length };
}

/** A new N gets as many seeds as the source's typical N (the median), at least 2, within what fits. */
function newSizeSeeds(ctx: CandidateContext, source: string, size: number, design: Map<number, number>): number[] {
  const ks = [...design.values()].sort((a, b) => a - b);
  const typical = ks.length ? ks[Math.floor((ks.length - 1) / 2)]! : 2;
  return freeSeeds(ctx, source, size).slice(0, Math.max(1, Math.min(Math.max(2, typical), ctx.maxCells)));
}

/** Candidates for a source's curve at any N of the envelope. */
function curveCandidates(t: ResolvedTarget, ctx: CandidateContext, source: string, pending: readonly CellRef[], bracketAt: number | null): Candidate[] {
  const design = designOf(ctx.read(source, t.evalSet, t.metric === 'accuracy' ? 'error' : t.metric), source, pending);
  const have = [...design.keys()];
  const [lo, hi] = have.length ? [Math.min(...have), Math.max(...have)] : [Number.NaN, Number.NaN];
  const out: Candidate[] = [];
  const fresh = [...ctx.envelope.sizes].filter((n) => !design.has(n)).sort((a, b) => a - b);
  // The nearest new N on each side of an extrapolated equivalent bracket it.
  const brackets = new Set<number>();
  if (bracketAt !== null) {
    const below = fresh.filter((n) => Math.log(n) <= bracketAt);
    const above = fresh.filter((n) => Math.log(n) > bracketAt);
    if (below.length) brackets.add(below[below.length - 1]!);
    if (above.length) brackets.add(above[0]!);
  }
  for (const size of [...ctx.envelope.sizes].sort((a, b) => a - b)) {
    if (design.has(size)) {
      const seed = freeSeeds(ctx, source, size)[0];
      if (seed !== undefined) out.push(candidate('seed', source, size, [seed]));
      continue;
    }
    const seeds = newSizeSeeds(ctx, source, size, design);
    if (!seeds.length) continue;
    const kind: ActionKind = brackets.has(size) ? 'bracket' : have.length && (size < lo || size > hi) ? 'span' : 'new-size';
    out.push(candidate(kind, source, size, seeds));
  }
  return out;
}

/** Candidates for a source at one N: one more seed there, or its first seeds there. */
function atNCandidates(t: ResolvedTarget, ctx: CandidateContext, source: string, pending: readonly CellRef[]): Candidate[] {
  const n = t.n!;
  if (!ctx.envelope.sizes.includes(n)) return [];
  const design = designOf(ctx.read(source, t.evalSet, t.metric === 'accuracy' ? 'error' : t.metric), source, pending);
  if (design.has(n)) {
    const seed = freeSeeds(ctx, source, n)[0];
    return seed === undefined ? [] : [candidate('seed', source, n, [seed])];
  }
  const seeds = freeSeeds(ctx, source, n).slice(0, Math.max(1, Math.min(2, ctx.maxCells)));
  return seeds.length ? [candidate('new-size', source, n, seeds)] : [];
}

/** Every action that could narrow `t`, given the cells pending this round. */
export function candidatesFor(t: ResolvedTarget, ctx: CandidateContext, pending: readonly CellRef[]): Candidate[] {
  if (ctx.maxCells < 1) return [];
  switch (t.quantity) {
    case 'slope':
      return curveCandidates(t, ctx, t.source, pending, null);
    case 'slopeRatio':
      return [...curveCandidates(t, ctx, t.source, pending, null), ...curveCandidates(t, ctx, t.real!, pending, null)];
    case 'accuracyGap':
    case 'mixingGain':
      return [...atNCandidates(t, ctx, t.source, pending), ...atNCandidates(t, ctx, t.real!, pending)];
    case 'realEquivalent': {
      const lnNeq = lnEquivalentNow(t, ctx);
      return [...curveCandidates(t, ctx, t.real!, pending, Number.isFinite(lnNeq) ? lnNeq : null), ...atNCandidates(t, ctx, t.source, pending)];
    }
  }
}

/** The sources a target reads: along their whole curve, and at its one N only. */
export function involvedSources(t: ResolvedTarget): { curve: string[]; atN: string[] } {
  switch (t.quantity) {
    case 'slope':
      return { curve: [t.source], atN: [] };
    case 'slopeRatio':
      return { curve: [t.source, t.real!], atN: [] };
    case 'accuracyGap':
    case 'mixingGain':
      return { curve: [], atN: [t.source, t.real!] };
    case 'realEquivalent':
      return { curve: [t.real!], atN: [t.source] };
  }
}

/** Every cell of the envelope the target could still use (its sources' free sizes x seeds, or seeds at its N). */
export function envelopeRest(t: ResolvedTarget, ctx: CandidateContext): CellRef[] {
  const { curve, atN } = involvedSources(t);
  const free = (source: string, sizes: readonly number[]) =>
    sizes.flatMap((size) => ctx.envelope.seeds.map((seed) => ({ source, size, seed }))).filter((c) => !ctx.used.has(cellKey(c)));
  return [...curve.flatMap((s) => free(s, ctx.envelope.sizes)), ...atN.flatMap((s) => (ctx.envelope.sizes.includes(t.n!) ? free(s, [t.n!]) : []))];
}
