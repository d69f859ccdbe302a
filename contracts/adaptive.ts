// Adaptive sweeps: the types the loop passes around (targets resolved against the spec, intervals,
// decisions), the first round's cells, and the spec's cross-field checks. Zod-free, so workflow code
// can import it; the block's schema is contracts/spec/adaptive.ts.
import type { z } from 'zod';
import type { AdaptiveSchema, AdaptiveTargetSchema } from './spec/adaptive.js';

export type AdaptiveSpec = z.output<typeof AdaptiveSchema>;
export type AdaptiveSpecInput = z.input<typeof AdaptiveSchema>;
export type AdaptiveTarget = z.output<typeof AdaptiveTargetSchema>;
export type TargetQuantity = AdaptiveTarget['quantity'];

/** One classifier cell (the only task the loop schedules for now). */
export interface CellRef {
  source: string;
  size: number;
  seed: number;
}

/** What the loop needs of a sweep spec: the envelope, the sources and the eval sets. */
export interface AdaptiveSweepShape {
  sizes: readonly number[];
  seeds: readonly number[];
  sources: readonly { name: string; kind: string; real?: string; synthetic?: string }[];
  eval: readonly { name: string }[];
  /** The analysis's gates, when the loop should count a slope withheld by them as unmet. */
  analysis?: { minSizes?: number; minDecades?: number };
}

/** A target with everything the spec leaves to defaults filled in. */
export interface ResolvedTarget {
  id: string;
  label: string;
  quantity: TargetQuantity;
  source: string;
  /** The real source compared with; a mixing gain's is its mix's real part; none for a slope. */
  real?: string;
  /** What is measured against N; gaps and gains are in accuracy. */
  metric: 'error' | 'loss' | 'accuracy';
  evalSet: string;
  /** The N a gap, gain or equivalent is read at. */
  n?: number;
  /** The half-width wanted (for realEquivalent: of ln N_eq). */
  wanted: number;
}

export interface TargetInterval {
  id: string;
  label: string;
  /** For realEquivalent: N_eq, lo and hi in images (halfWidth is in ln N). */
  estimate: number | null;
  lo: number | null;
  hi: number | null;
  halfWidth: number | null;
  wanted: number;
  met: boolean;
  /** How the interval was built, in words. */
  method: string;
  /** Why it is not met, or why no interval exists. */
  reason?: string;
  /** The intervals it combines (e.g. the fit's t-interval and the seed bootstrap), for the report and the tests. */
  components?: { method: string; lo: number | null; hi: number | null }[];
}

export type ActionKind = 'seed' | 'new-size' | 'bracket' | 'span';

export interface AdaptiveAction {
  kind: ActionKind;
  source: string;
  size: number;
  seeds: number[];
  /** The id of the target it was chosen for. */
  target: string;
  predictedHalfWidth: number;
  /** Training images: N per cell. */
  cost: number;
  reason: string;
}

export interface AdaptiveSpent {
  cells: number;
  images: number;
  hours: number;
}

export interface AdaptiveStop {
  reason: 'targets-met' | 'budget' | 'envelope-exhausted';
  detail: string;
}

export interface AdaptiveDecision {
  round: number;
  /** The cells to train next (empty when stopping). */
  cells: CellRef[];
  actions: AdaptiveAction[];
  /** The intervals the decision read (activities/adapt/intervals.ts). */
  intervals: TargetInterval[];
  /** Spent before this round's cells. */
  spent: AdaptiveSpent;
  stop: null | AdaptiveStop;
}

const fmtN = (n: number) => String(n);

/** A target in words, e.g. "syn/real slope ratio (error)". */
export function targetLabel(target: AdaptiveTarget): string {
  const on = target.evalSet === undefined ? '' : ` on ${target.evalSet}`;
  switch (target.quantity) {
    case 'slope':
      return `slope of ${target.source} (${target.metric}${on})`;
    case 'slopeRatio':
      return `${target.source}/${target.real ?? 'real'} slope ratio (${target.metric}${on})`;
    case 'accuracyGap':
      return `accuracy gap ${target.source} - ${target.real ?? 'real'} at N=${fmtN(target.n)}${on}`;
    case 'realEquivalent':
      return `real-data equivalent of ${target.source} at N=${fmtN(target.n)} (${target.metric}${on})`;
    case 'mixingGain':
      return `mixing gain of ${target.source} at N=${fmtN(target.n)}${on}`;
  }
}

/** A short stable id, e.g. "t2-slopeRatio-syn": its position (1-based) and what it measures. */
export function targetId(target: AdaptiveTarget, index: number): string {
  const at = 'n' in target ? `-n${target.n}` : '';
  return `t${index + 1}-${target.quantity}-${target.source}${at}`;
}

/** The first real source of the spec (the default `real` of a comparison), or null. */
export function firstRealSource(spec: Pick<AdaptiveSweepShape, 'sources'>): string | null {
  return spec.sources.find((s) => s.kind === 'real')?.name ?? null;
}

/** Targets with their defaults filled in from the spec (call after adaptiveSpecIssues found none). */
export function resolveTargets(spec: AdaptiveSweepShape, adaptive: Pick<AdaptiveSpec, 'targets'>): ResolvedTarget[] {
  const evalSet = (t: AdaptiveTarget) => t.evalSet ?? spec.eval[0]?.name ?? 'test';
  return adaptive.targets.map((t, i) => {
    const base = { id: targetId(t, i), label: targetLabel(t), quantity: t.quantity, source: t.source, evalSet: evalSet(t) };
    const realOf = (named: string | undefined) => named ?? firstRealSource(spec) ?? 'real';
    switch (t.quantity) {
      case 'slope':
        return { ...base, metric: t.metric, wanted: t.halfWidth };
      case 'slopeRatio':
        return { ...base, label: targetLabel({ ...t, real: realOf(t.real) }), real: realOf(t.real), metric: t.metric, wanted: t.halfWidth };
      case 'accuracyGap':
        return { ...base, label: targetLabel({ ...t, real: realOf(t.real) }), real: realOf(t.real), metric: 'accuracy', n: t.n, wanted: t.halfWidth };
      case 'realEquivalent':
        return { ...base, real: realOf(t.real), metric: t.metric, n: t.n, wanted: t.relHalfWidth };
      case 'mixingGain': {
        const mixReal = spec.sources.find((s) => s.name === t.source)?.real ?? realOf(undefined);
        return { ...base, real: mixReal, metric: 'accuracy', n: t.n, wanted: t.halfWidth };
      }
    }
  });
}

/** `count` of `sizes` spread evenly in log space, smallest and largest included (all when there are no more). */
export function logSpreadSizes(sizes: readonly number[], count: number): number[] {
  const sorted = [...new Set(sizes)].sort((a, b) => a - b);
  if (sorted.length <= count) return sorted;
  const lo = Math.log(sorted[0]!);
  const hi = Math.log(sorted[sorted.length - 1]!);
  const picked = new Set<number>();
  for (let i = 0; i < count; i++) {
    const want = lo + ((hi - lo) * i) / Math.max(1, count - 1);
    const free = sorted.filter((n) => !picked.has(n));
    free.sort((a, b) => Math.abs(Math.log(a) - want) - Math.abs(Math.log(b) - want) || a - b);
    picked.add(free[0]!);
  }
  return [...picked].sort((a, b) => a - b);
}

/** The sources the loop trains: every source with a classifier (real-pairs train CLIP only). */
export function adaptiveSources(spec: Pick<AdaptiveSweepShape, 'sources'>): string[] {
  const kindOf = new Map(spec.sources.map((s) => [s.name, s.kind]));
  return spec.sources.filter((s) => s.kind !== 'real-pairs' && !(s.kind === 'mixed' && kindOf.get(s.real ?? '') === 'real-pairs')).map((s) => s.name);
}

/** Round 0's sizes and seeds: the spec's `initial`, or 3 log-spread sizes and the first 2 seeds. */
export function initialGrid(spec: Pick<AdaptiveSweepShape, 'sizes' | 'seeds'>, adaptive: Pick<AdaptiveSpec, 'initial'>): { sizes: number[]; seeds: number[] } {
  const sizes = adaptive.initial.sizes ? [...adaptive.initial.sizes].sort((a, b) => a - b) : logSpreadSizes(spec.sizes, 3);
  const seeds = adaptive.initial.seeds ? [...adaptive.initial.seeds] : spec.seeds.slice(0, 2);
  return { sizes, seeds };
}

/** Round 0: every classifier source at the initial sizes x seeds (source order, N ascending, seeds in order). */
export function initialCells(spec: AdaptiveSweepShape, adaptive: Pick<AdaptiveSpec, 'initial'>): CellRef[] {
  const { sizes, seeds } = initialGrid(spec, adaptive);
  return adaptiveSources(spec).flatMap((source) => sizes.flatMap((size) => seeds.map((seed) => ({ source, size, seed }))));
}

export interface AdaptiveIssue {
  path: (string | number)[];
  message: string;
}

const list = (xs: readonly (string | number)[]) => xs.join(', ') || 'none';

/** The kinds a target's measured source may have, in words for the message. */
const SOURCE_KINDS_OF: Record<TargetQuantity, string[]> = {
  slope: ['real', 'synthetic', 'mixed', 'control'],
  slopeRatio: ['synthetic', 'mixed', 'control'],
  accuracyGap: ['synthetic', 'mixed', 'control'],
  realEquivalent: ['synthetic', 'mixed', 'control'],
  mixingGain: ['mixed'],
};

/** One target's checks against the spec: its sources, eval set, N, and the envelope a slope needs. */
function targetIssues(spec: AdaptiveSweepShape, t: AdaptiveTarget, at: (string | number)[]): AdaptiveIssue[] {
  const out: AdaptiveIssue[] = [];
  const kindOf = new Map(spec.sources.map((s) => [s.name, s.kind]));
  const wanted = SOURCE_KINDS_OF[t.quantity];
  const kind = kindOf.get(t.source);
  const ofKinds = (kinds: string[]) => list(spec.sources.filter((s) => kinds.includes(s.kind)).map((s) => s.name));
  if (kind === undefined) out.push({ path: [...at, 'source'], message: `'${t.source}' is not a source of this spec (${t.quantity} can measure: ${ofKinds(wanted)})` });
  else if (!wanted.includes(kind) || adaptiveSources(spec).indexOf(t.source) < 0)
    out.push({ path: [...at, 'source'], message: `'${t.source}' is a ${kind} source; ${t.quantity} measures a ${wanted.join(' or ')} source with a classifier (such sources: ${ofKinds(wanted)})` });
  if (t.quantity === 'slopeRatio' || t.quantity === 'accuracyGap' || t.quantity === 'realEquivalent') {
    const real = t.real ?? firstRealSource(spec);
    if (real === null) out.push({ path: [...at, 'real'], message: `${t.quantity} compares with a real source and the spec has none: add { name: real, kind: real } to sources` });
    else if (kindOf.get(real) !== 'real') out.push({ path: [...at, 'real'], message: `'${real}' is not a real source of this spec (real sources: ${ofKinds(['real'])})` });
  }
  if (t.evalSet !== undefined && !spec.eval.some((e) => e.name === t.evalSet))
    out.push({ path: [...at, 'evalSet'], message: `'${t.evalSet}' is not an eval set of this spec (eval sets: ${list(spec.eval.map((e) => e.name))})` });
  if ('n' in t && !spec.sizes.includes(t.n))
    out.push({ path: [...at, 'n'], message: `N=${t.n} is not one of sizes (${list([...spec.sizes].sort((a, b) => a - b))}): read it at one of them, or add ${t.n} to sizes` });
  const needsCurve = t.quantity === 'slope' || t.quantity === 'slopeRatio' || t.quantity === 'realEquivalent';
  const minSizes = Math.max(3, spec.analysis?.minSizes ?? 3);
  if (needsCurve && spec.sizes.length < minSizes)
    out.push({ path: [...at, 'quantity'], message: `a ${t.quantity} needs a power law fitted over at least ${minSizes} distinct N and sizes has ${spec.sizes.length}: add sizes (the envelope the loop may use)` });
  const decades = spec.sizes.length ? Math.log10(Math.max(...spec.sizes) / Math.min(...spec.sizes)) : 0;
  const minDecades = spec.analysis?.minDecades;
  if (needsCurve && minDecades !== undefined && decades < minDecades - 1e-9)
    out.push({ path: [...at, 'quantity'], message: `a ${t.quantity} needs N to span ${minDecades} decades (analysis.minDecades) and sizes span ${decades.toFixed(2)}: add a smaller or a larger size` });
  if ((t.quantity === 'accuracyGap' || t.quantity === 'mixingGain') && spec.seeds.length < 2)
    out.push({ path: [...at, 'quantity'], message: `a ${t.quantity} needs at least 2 seeds at N=${t.n} for its interval and seeds has 1: add seeds` });
  return out;
}

/**
 * The adaptive block's cross-field checks (paths from the spec's root): the first round inside the
 * envelope, every target's sources, eval set and N in the spec, no target twice, and a first round
 * within the budget.
 */
export function adaptiveSpecIssues(spec: AdaptiveSweepShape, adaptive: AdaptiveSpec): AdaptiveIssue[] {
  const out: AdaptiveIssue[] = [];
  const envelope = (field: 'sizes' | 'seeds') => [...spec[field]].sort((a, b) => a - b);
  for (const field of ['sizes', 'seeds'] as const) {
    (adaptive.initial[field] ?? []).forEach((v, i) => {
      if (!spec[field].includes(v))
        out.push({ path: ['adaptive', 'initial', field, i], message: `${v} is not in the spec's ${field} (the envelope: ${list(envelope(field))}): pick the first round from them, or add ${v} to ${field}` });
    });
  }
  const seen = new Map<string, number>();
  adaptive.targets.forEach((t, i) => {
    out.push(...targetIssues(spec, t, ['adaptive', 'targets', i]));
    const key = JSON.stringify(resolveTargets(spec, { targets: [t] })[0]!, ['quantity', 'source', 'real', 'metric', 'evalSet', 'n']);
    const first = seen.get(key);
    if (first !== undefined) out.push({ path: ['adaptive', 'targets', i], message: `the same quantity as targets[${first}]: keep one (the narrower half-width)` });
    else seen.set(key, i);
  });
  const cells = initialCells(spec, adaptive);
  const images = cells.reduce((s, c) => s + c.size, 0);
  const { budget } = adaptive;
  if (budget.cells !== undefined && cells.length > budget.cells)
    out.push({ path: ['adaptive', 'budget', 'cells'], message: `the first round alone has ${cells.length} cells: raise budget.cells or give adaptive.initial fewer sizes or seeds` });
  if (budget.images !== undefined && images > budget.images)
    out.push({ path: ['adaptive', 'budget', 'images'], message: `the first round alone trains on ${images} images: raise budget.images or give adaptive.initial smaller sizes or fewer seeds` });
  return out;
}
