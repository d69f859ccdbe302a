// Monotonicity of a scaling curve: do the per-N means of y ever rise with N beyond a tolerance?
// Pure functions, no I/O.

export interface MonotoneOptions {
  /** Absolute slack allowed for a rise (default 0). */
  absTolerance?: number;
  /** Slack as a fraction of the smallest earlier mean (default 0). */
  relTolerance?: number;
  /** Slack as a multiple of the standard error of the difference of the two per-N means (default 0: off). */
  seMultiplier?: number;
}

export interface MonotoneViolation {
  /** The N whose mean rose. */
  n: number;
  mean: number;
  /** The smaller N holding the smallest earlier mean, and that mean. */
  priorN: number;
  priorMean: number;
  /** mean - priorMean (> tolerance). */
  rise: number;
  tolerance: number;
}

export interface MonotoneCheck {
  monotone: boolean;
  /** Per-N means, sorted by N. */
  means: { n: number; mean: number; count: number }[];
  violations: MonotoneViolation[];
}


function groupByN(ns: readonly number[], ys: readonly number[]): { n: number; values: number[] }[] {
  const groups = new Map<number, number[]>();
  ns.forEach((n, i) => {
    const list = groups.get(n) ?? [];
    list.push(ys[i] as number);
    groups.set(n, list);
  });
  return [...groups.entries()].sort((p, q) => p[0] - q[0]).map(([n, values]) => ({ n, values }));
}

/**
 * Checks that the per-N means of y do not rise with N. A mean counts as a rise when it exceeds the smallest
 * mean at any smaller N by more than the tolerance (so slow cumulative drifts are caught too), where the
 * tolerance is max(absTolerance, relTolerance * |priorMean|, seMultiplier * SE of the difference of the two means).
 */
export function checkMonotoneDecreasing(
  ns: readonly number[],
  ys: readonly number[],
  tolerance: number | MonotoneOptions = 0,
): MonotoneCheck {
  assertSameLength(ns, ys, 'checkMonotoneDecreasing');
  const opts: MonotoneOptions = typeof tolerance === 'number' ? { absTolerance: tolerance } : tolerance;
  const abs = opts.absTolerance ?? 0;
  const rel = opts.relTolerance ?? 0;
  const k = opts.seMultiplier ?? 0;
  const groups = groupByN(ns, ys).map((g) => {
    const mean = g.values.reduce((s, v) => s + v, 0) / g.values.length;
    const variance =
      g.values.length > 1 ? g.values.reduce((s, v) => s + (v - mean) ** 2, 0) / (g.values.length - 1) : 0;
    return { n: g.n, mean, count: g.values.length, se2: variance / g.values.length };
  });
  const violations: MonotoneViolation[] = [];
  let best = groups[0];
  for (let i = 1; i < groups.length; i++) {
    const g = groups[i]!;
    if (!best) break;
    const tol = Math.max(abs, rel * Math.abs(best.mean), k * Math.sqrt(best.se2 + g.se2));
    const rise = g.mean - best.mean;
    if (rise > tol) violations.push({ n: g.n, mean: g.mean, priorN: best.n, priorMean: best.mean, rise, tolerance: tol });
    if (g.mean < best.mean) best = g;
  }
  return {
    monotone: violations.length === 0,
    means: groups.map(({ n, mean, count }) => ({ n, mean, count })),
    violations,
  };
}

/** True when the per-N means of y never rise with N by more than `tolerance` (see checkMonotoneDecreasing). */
export function isMonotoneDecreasing(
  ns: readonly number[],
  ys: readonly number[],
  tolerance: number | MonotoneOptions = 0,
): boolean {
  return checkMonotoneDecreasing(ns, ys, tolerance).monotone;
}

/** Both arrays hold one value per point (the fits check this too). */
export function assertSameLength(ns: readonly number[], ys: readonly number[], fn: string): void {
  if (ns.length !== ys.length) throw new RangeError(`${fn}: ns has ${ns.length} values but ys has ${ys.length}`);
}
