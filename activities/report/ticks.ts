// Axis ticks for the report's log axes. Vega's own log ticks label only powers of ten, so a loss
// axis over 1..3 showed no label at all, and the N axis could drop its largest size: the charts
// pass these values instead.

const MANTISSAS = [
  [1],
  [1, 2, 5],
  [1, 1.5, 2, 3, 5, 7],
  [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9],
];

/** Round values on a log axis over [min, max]: the coarsest 1-2-5 style set with at least 3 inside (at most about 8). */
export function logTicks(min: number, max: number): number[] {
  if (!(min > 0) || !(max > min)) return min > 0 ? [min] : [];
  let best: number[] = [];
  for (const mantissas of MANTISSAS) {
    const ticks: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      for (const m of mantissas) {
        const v = Number((m * 10 ** e).toPrecision(6));
        if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) ticks.push(v);
      }
    }
    best = ticks;
    if (ticks.length >= 3) break;
  }
  // Too many over a wide range: thin to about 8, keeping the ends of the list.
  if (best.length > 8) {
    const step = Math.ceil(best.length / 8);
    best = best.filter((_, i) => i % step === 0);
  }
  return best;
}

/** The sizes to label on the N axis: always the largest, then going down, each at least `minRatio` below the last one labelled. */
export function sizeTicks(sizes: readonly number[], minRatio = 1.9): number[] {
  const sorted = [...new Set(sizes)].filter((n) => n > 0).sort((p, q) => q - p);
  const ticks: number[] = [];
  for (const n of sorted) if (ticks.length === 0 || ticks[ticks.length - 1]! / n >= minRatio) ticks.push(n);
  return ticks.reverse();
}

/** A tick label: 1.5, 0.25, 2k, 8k, 1.2M (no trailing zeros). */
export function tickFormat(kind: 'value' | 'size'): string {
  return kind === 'size' ? '~s' : '~g';
}
