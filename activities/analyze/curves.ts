// From cells to curves: the usable cells, the curves to draw (one per source and eval set), and
// each curve's per-N aggregates over seeds, fits, bootstrap draws and warnings.
import type { CurveAnalysis, PerNAggregate } from '../../contracts/analysis.js';
import type { CellMetrics, SourceSummary } from '../../contracts/types.js';
import type { MonotoneOptions } from '../../core/stats/monotone.js';
import { meanCI95 } from '../../core/stats/student-t.js';
import { curveDraws, type CurveDraws, type SeedResampling } from './draws.js';
import { analyzeMetric, spanOf, type QualityGates } from './metric-scaling.js';

/** Drops cells with unusable numbers and de-duplicates (source, evalSet, size, seed), keeping the last one. */
export function usableCells(cells: readonly CellMetrics[], warnings: string[]): CellMetrics[] {
  const unique = new Map<string, CellMetrics>();
  for (const c of cells) {
    const bad = (['size', 'loss', 'accuracy', 'ece'] as const).filter((k) => !Number.isFinite(c[k]));
    if (bad.length > 0 || c.size <= 0) {
      warnings.push(
        `dropped cell ${c.source}/${c.evalSet}/N=${c.size}/seed=${c.seed}: ${bad.length > 0 ? `non-finite ${bad.join(', ')}` : 'N <= 0'}`,
      );
      continue;
    }
    const key = JSON.stringify([c.source, c.evalSet, c.size, c.seed]);
    if (unique.has(key)) warnings.push(`duplicate cell ${c.source}/${c.evalSet}/N=${c.size}/seed=${c.seed}: kept the last one`);
    unique.set(key, c);
  }
  return [...unique.values()];
}

/** The sources to draw curves for: every summary, then cell sources without one (warned about). */
export function curveSources(sources: readonly SourceSummary[], kept: CellMetrics[], warnings: string[]): string[] {
  const summaryNames = new Set(sources.map((s) => s.name));
  const sourceNames = sources.map((s) => s.name);
  for (const name of new Set(kept.map((c) => c.source))) {
    if (!summaryNames.has(name)) {
      warnings.push(`cells for source "${name}" have no SourceSummary; analysed as kind "unknown"`);
      sourceNames.push(name);
    }
  }
  for (const s of sources) {
    if (!kept.some((c) => c.source === s.name)) warnings.push(`source "${s.name}" has no cells`);
  }
  return sourceNames;
}

/** Mean and 95% CI over seeds at each N (group sorted by N). */
function aggregatePerN(group: CellMetrics[]): PerNAggregate[] {
  const byN = new Map<number, CellMetrics[]>();
  for (const c of group) byN.set(c.size, [...(byN.get(c.size) ?? []), c]);
  return [...byN.entries()]
    .sort((p, q) => p[0] - q[0])
    .map(([n, cs]) => ({
      n,
      seeds: cs.length,
      loss: meanCI95(cs.map((c) => c.loss)),
      error: meanCI95(cs.map((c) => 1 - c.accuracy)),
      accuracy: meanCI95(cs.map((c) => c.accuracy)),
      ece: meanCI95(cs.map((c) => c.ece)),
      ...(cs.every((c) => c.zeroShotSingle) ? { singleTemplateAccuracy: meanCI95(cs.map((c) => c.zeroShotSingle!.accuracy)) } : {}),
      ...(cs.every((c) => c.probe) ? { probeAccuracy: meanCI95(cs.map((c) => c.probe!.accuracy)) } : {}),
    }));
}

/** How one curve is analysed: the monotonicity tolerance, the quality gates, and its source's seed resampling. */
export interface CurveSettings {
  monotone: MonotoneOptions;
  gates: QualityGates;
  resampling: SeedResampling;
}

/** One source's curve on one eval set with its bootstrap draws, or null when it has no cells there. */
export function analyzeCurve(
  source: string,
  summary: SourceSummary | undefined,
  evalSet: string,
  kept: CellMetrics[],
  settings: CurveSettings,
): { curve: CurveAnalysis; draws: CurveDraws } | null {
  const group = kept.filter((c) => c.source === source && c.evalSet === evalSet).sort((p, q) => p.size - q.size || p.seed - q.seed);
  if (group.length === 0) return null;
  const curveWarnings: string[] = [];
  const perN = aggregatePerN(group);
  const single = perN.filter((p) => p.seeds < 2).map((p) => p.n);
  if (single.length > 0) curveWarnings.push(`only one seed at N = ${single.join(', ')}: no confidence interval there`);
  if (perN.length < 3) curveWarnings.push(`only ${perN.length} distinct N: no slope confidence interval`);

  const ns = perN.map((p) => p.n);
  const draws = curveDraws(group, ns, settings.resampling);
  const seedNs = group.map((c) => c.size);
  const metric = (name: 'loss' | 'error', seedYs: number[]) =>
    analyzeMetric(name, { seedNs, seedYs, ns, means: perN.map((p) => p[name].mean) }, settings.monotone, settings.gates, draws);
  const loss = metric('loss', group.map((c) => c.loss));
  const error = metric('error', group.map((c) => 1 - c.accuracy));
  if (!loss.monotone && error.monotone)
    curveWarnings.push('loss is not monotone while error is: the model becomes over-confident on real test data as N grows (see ECE)');
  const curve: CurveAnalysis = {
    source,
    kind: summary?.kind ?? 'unknown',
    description: summary?.description ?? '',
    evalSet,
    perN,
    span: spanOf(ns),
    loss,
    error,
    lossMonotone: loss.monotone,
    errorMonotone: error.monotone,
    warnings: curveWarnings,
  };
  return { curve, draws };
}
