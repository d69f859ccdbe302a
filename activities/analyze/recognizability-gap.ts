// A synthetic source's recognizability next to its per-class accuracy gap to real data, at the
// largest N it shares with the real source, on the clean eval set.
import type { AnalyzeOptions, RecognizabilityAnalysis } from '../../contracts/analysis.js';
import type { CellMetrics } from '../../contracts/types.js';
import { correlate } from '../../core/stats/recognizability.js';
import { cleanEvalSet } from './verdicts.js';

type Recognizability = NonNullable<AnalyzeOptions['recognizability']>[number];

/** Mean per-class accuracy of class k over the cells at N = n (null without finite values). */
function perClassMean(cs: CellMetrics[], n: number | null, k: number): number | null {
  const values = cs.filter((c) => c.size === n).map((c) => c.perClassAccuracy[k]).filter((v): v is number => Number.isFinite(v));
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}

export function recognizabilityVsGap(
  r: Recognizability,
  kept: CellMetrics[],
  evalSets: string[],
  realSource: string | null,
  warnings: string[],
  otherDatasets: readonly string[] = [],
): RecognizabilityAnalysis {
  const cleanEval = cleanEvalSet(evalSets, otherDatasets);
  const mine = kept.filter((c) => c.source === r.source && c.evalSet === cleanEval);
  const theirs = kept.filter((c) => c.source === realSource && c.evalSet === cleanEval);
  const shared = [...new Set(mine.map((c) => c.size))].filter((n) => theirs.some((c) => c.size === n));
  const n = shared.length ? Math.max(...shared) : null;
  const perClass = r.classes.map((className, k) => {
    const accuracy = n === null ? null : perClassMean(mine, n, k);
    const realAccuracy = n === null ? null : perClassMean(theirs, n, k);
    return {
      className,
      recognizability: r.perClass[k] ?? null,
      accuracy,
      realAccuracy,
      gap: accuracy !== null && realAccuracy !== null ? accuracy - realAccuracy : null,
    };
  });
  if (n === null) warnings.push(`recognizability of ${r.source}: no N shared with the real source, so no per-class gap to correlate`);
  return {
    source: r.source,
    overall: r.overall,
    judgeTestAccuracy: r.judgeTestAccuracy,
    n,
    evalSet: cleanEval,
    perClass,
    correlation: correlate(perClass.map((p) => p.recognizability), perClass.map((p) => p.gap)),
    ...(r.diversity ? { diversity: { ...r.diversity } } : {}),
  };
}
