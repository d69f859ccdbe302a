// What an adaptive sweep saved: from a fixed-grid sweep over the adaptive spec's whole envelope
// (same data, so the same cells), the intervals every smaller fixed grid would have given (log-
// spread subsets of the sizes x the first k seeds), measured with the adaptive loop's own interval
// code, and the cheapest grid that meets every target, next to what the adaptive sweep spent.
//   node --import tsx bench/adaptive-vs-grid.ts <adaptive spec.yaml> <grid report.json> <adaptive report.json>
import { readFile } from 'node:fs/promises';
import { logSpreadSizes, resolveTargets } from '../contracts/adaptive.js';
import type { DecisionDocument } from '../contracts/adaptive-run.js';
import { DEFAULT_ANALYSIS_SETTINGS } from '../contracts/analysis.js';
import type { CellMetrics } from '../contracts/types.js';
import { targetIntervals } from '../activities/analyze/adapt/intervals.js';
import { loadSpecFile } from '../cli/spec-file.js';

const [specPath, gridReportPath, adaptiveReportPath] = process.argv.slice(2);
if (!specPath || !gridReportPath || !adaptiveReportPath) {
  console.error('usage: node --import tsx bench/adaptive-vs-grid.ts <adaptive spec.yaml> <grid report.json> <adaptive report.json>');
  process.exit(2);
}
const spec = await loadSpecFile(specPath);
if (!spec.adaptive) throw new Error(`${specPath} has no adaptive block`);
const grid = JSON.parse(await readFile(gridReportPath, 'utf8')) as { cells: CellMetrics[] };
const adaptive = JSON.parse(await readFile(adaptiveReportPath, 'utf8')) as { cells: CellMetrics[]; adaptive?: { decisions: DecisionDocument[] } };
const targets = resolveTargets(spec, spec.adaptive);
const settings = { ...DEFAULT_ANALYSIS_SETTINGS, ...spec.analysis };
const options = { level: spec.adaptive.level, bootstrapDraws: settings.bootstrapDraws, bootstrapSeed: settings.bootstrapSeed, gates: { minSizes: settings.minSizes, minDecades: settings.minDecades } };

const key = (c: { source: string; size: number; seed: number }) => `${c.source}|${c.size}|${c.seed}`;
const trained = (cells: CellMetrics[]) => new Map(cells.map((c) => [key(c), c.size]));
const cost = (cells: CellMetrics[]) => {
  const m = trained(cells);
  return { cells: m.size, images: [...m.values()].reduce((a, b) => a + b, 0) };
};

const rows: { sizes: number; seeds: number; cells: number; images: number; widths: string; met: boolean }[] = [];
for (let k = 2; k <= spec.seeds.length; k++) {
  for (const count of [3, 4, 5, 6, 8, spec.sizes.length]) {
    if (count > spec.sizes.length) continue;
    const sizes = new Set(logSpreadSizes(spec.sizes, count));
    const seeds = new Set(spec.seeds.slice(0, k));
    const cells = grid.cells.filter((c) => sizes.has(c.size) && seeds.has(c.seed));
    const intervals = targetIntervals(cells, targets, options);
    rows.push({
      sizes: sizes.size,
      seeds: k,
      ...cost(cells),
      widths: intervals.map((t) => (t.halfWidth === null ? 'none' : `±${t.halfWidth.toPrecision(2)}`)).join(', '),
      met: intervals.every((t) => t.met),
    });
  }
}
rows.sort((p, q) => p.cells - q.cells || p.images - q.images);
const cheapest = rows.find((r) => r.met);
const spent = cost(adaptive.cells);
const last = adaptive.adaptive?.decisions.at(-1);
const adaptiveNow = targetIntervals(adaptive.cells, targets, options);
console.log(`targets: ${targets.map((t) => `${t.label} ±${t.wanted}`).join('; ')}`);
console.log(`| fixed grid | cells | training images | half-widths | all met |\n|---|---:|---:|---|---|`);
for (const r of rows) console.log(`| ${r.sizes} sizes x ${r.seeds} seeds | ${r.cells} | ${r.images.toLocaleString('en-US')} | ${r.widths} | ${r.met ? 'yes' : 'no'} |`);
console.log(
  `\nadaptive: ${spent.cells} cells, ${spent.images.toLocaleString('en-US')} training images, half-widths ${adaptiveNow.map((t) => (t.halfWidth === null ? 'none' : `±${t.halfWidth.toPrecision(2)}`)).join(', ')}, ` +
    `stopped: ${last?.decision.stop?.reason ?? 'running'}`,
);
console.log(
  cheapest
    ? `cheapest fixed grid meeting every target: ${cheapest.sizes} sizes x ${cheapest.seeds} seeds = ${cheapest.cells} cells, ${cheapest.images.toLocaleString('en-US')} images ` +
        `(the adaptive sweep used ${spent.cells} cells, ${((1 - spent.cells / cheapest.cells) * 100).toFixed(0)}% fewer; ${((1 - spent.images / cheapest.images) * 100).toFixed(0)}% fewer images)`
    : 'no fixed grid inside the envelope meets every target',
);
