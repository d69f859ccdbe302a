// Recognizability (the paper's analysis): a classifier trained on real images judges generated
// images; a class's recognizability is the fraction of the images generated for it (its prompted
// class) that the judge labels as that class. Classes the generator cannot make recognizably are
// where synthetic training is expected to fall behind, so the report correlates a class's
// recognizability with its synthetic-vs-real accuracy gap.

export interface ClassRecognizability {
  classIndex: number;
  className: string;
  /** Generated images prompted as this class. */
  prompted: number;
  /** Of those, labelled as this class by the judge. */
  recognized: number;
  /** recognized / prompted (null when none were prompted). */
  fraction: number | null;
}

export interface RecognizabilityResult {
  /** Judge accuracy on the clean real test split, for context (a weak judge understates it). */
  judgeTestAccuracy: number | null;
  images: number;
  /** recognized / images over all classes. */
  overall: number;
  perClass: ClassRecognizability[];
  /** confusion[prompted][predicted] counts. */
  confusion: number[][];
}

/** Per-class recognizability from the prompted labels and the judge's predictions. */
export function measureRecognizability(
  prompted: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classes: readonly string[],
  judgeTestAccuracy: number | null = null,
): RecognizabilityResult {
  if (prompted.length !== predicted.length) {
    throw new Error(`recognizability: ${prompted.length} prompted labels but ${predicted.length} predictions`);
  }
  const k = classes.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < prompted.length; i++) {
    const p = prompted[i]!;
    const q = predicted[i]!;
    if (!(p >= 0 && p < k && q >= 0 && q < k)) throw new Error(`recognizability: label ${p} or prediction ${q} of image ${i} is out of range [0, ${k})`);
    confusion[p]![q]!++;
  }
  let recognizedTotal = 0;
  const perClass = classes.map((className, c) => {
    const row = confusion[c]!;
    const total = row.reduce((a, b) => a + b, 0);
    const recognized = row[c]!;
    recognizedTotal += recognized;
    return { classIndex: c, className, prompted: total, recognized, fraction: total > 0 ? recognized / total : null };
  });
  return { judgeTestAccuracy, images: prompted.length, overall: prompted.length ? recognizedTotal / prompted.length : 0, perClass, confusion };
}

export interface Correlation {
  /** Pairs used (classes with both values). */
  n: number;
  pearson: number | null;
  spearman: number | null;
}

/** Pearson and Spearman correlation of paired values; null where undefined (n < 3 or no variance). */
export function correlate(xs: readonly (number | null)[], ys: readonly (number | null)[]): Correlation {
  const pairs: [number, number][] = [];
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    const x = xs[i];
    const y = ys[i];
    if (x !== null && x !== undefined && y !== null && y !== undefined && Number.isFinite(x) && Number.isFinite(y)) pairs.push([x, y]);
  }
  const n = pairs.length;
  if (n < 3) return { n, pearson: null, spearman: null };
  return {
    n,
    pearson: pearsonOf(pairs.map((p) => p[0]), pairs.map((p) => p[1])),
    spearman: pearsonOf(ranks(pairs.map((p) => p[0])), ranks(pairs.map((p) => p[1]))),
  };
}

function pearsonOf(x: number[], y: number[]): number | null {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  return sxy / Math.sqrt(sxx * syy);
}

/** Ranks from 1, ties get their average rank. */
function ranks(values: number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) out[order[t]![1]] = rank;
    i = j + 1;
  }
  return out;
}
