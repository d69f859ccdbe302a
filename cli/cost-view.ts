// `sweep status`: what a sweep has cost, as plain lines: elapsed wall time against summed activity
// time, CPU- and GPU-seconds, and money when the spec gave prices (contracts/cost.ts). From a
// finished sweep's report.json (`cost`), or live from the workers' usage records in the store.
import { CostAggregator, EXECUTION_START_ACTIVITY, formatUsd, type CostPrices, type SweepCost, type UsageTotals } from '../contracts/cost.js';
import type { BlobStore } from '../core/storage.js';
import { forEachUsageRecord } from '../core/usage/read.js';

/** Names in records come from specs: no control characters reach the terminal, and none run long. */
function shown(name: string): string {
  const clean = name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 39)}…` : clean;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function rate(x: number | null): string {
  return x === null ? '-' : x < 10 ? x.toFixed(2) : String(Math.round(x));
}

function row(cells: string[], widths: number[]): string {
  return `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`.trimEnd();
}

function usageCells(t: UsageTotals, priced: boolean): string[] {
  return [
    String(t.attempts) + (t.failedAttempts > 0 ? ` (${t.failedAttempts} failed)` : ''),
    clock(t.activitySeconds),
    t.cpuSeconds.toFixed(1),
    t.gpuSeconds.toFixed(1),
    rate(t.imagesPerSecond),
    rate(t.stepsPerSecond),
    ...(priced ? [formatUsd(t.costUsd)] : []),
  ];
}

/** Lines for `sweep status`: a summary line, then one table by stage and one by source. */
export function formatCost(cost: SweepCost): string[] {
  if (cost.totals.attempts === 0) return ['cost: no usage records yet (workers record each activity attempt as it ends)'];
  const priced = cost.prices !== null;
  const money = priced ? `, ${formatUsd(cost.totals.costUsd)} at ${formatUsd(cost.prices!.cpuHourUsd)}/CPU-h, ${formatUsd(cost.prices!.gpuHourUsd)}/GPU-h` : ' (no prices in the spec)';
  const lines = [
    `cost: ${clock(cost.wall.seconds)} elapsed (wall), ${clock(cost.totals.activitySeconds)} of activity time (summed over ${cost.totals.attempts} attempts), ` +
      `${(cost.totals.cpuSeconds / 3600).toFixed(3)} CPU-h, ${(cost.totals.gpuSeconds / 3600).toFixed(3)} GPU-h${money}`,
  ];
  const header = ['attempts', 'activity', 'CPU-s', 'GPU-s', 'img/s', 'steps/s', ...(priced ? ['cost'] : [])];
  const tables: [string, string[][]][] = [
    [
      'stage',
      [
        ...cost.stages.map((s) => [shown(s.stage), clock(s.wall.seconds), ...usageCells(s, priced)]),
        ['total', clock(cost.wall.seconds), ...usageCells(cost.totals, priced)],
      ],
    ],
  ];
  if (cost.sources.length > 0) {
    const rows = cost.sources.map((s) => [shown(s.source), clock(s.wall.seconds), ...usageCells(s, priced)]);
    if (cost.sweepLevel.attempts > 0) rows.push(['(sweep level)', '-', ...usageCells(cost.sweepLevel, priced)]);
    tables.push(['source', rows]);
  }
  for (const [first, rows] of tables) {
    const all = [[first, 'wall span', ...header], ...rows];
    const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
    lines.push(...all.map((r) => row(r, widths)));
  }
  lines.push('  (wall spans overlap: stages and sources run side by side; activity time, CPU, GPU and cost add up)');
  if (cost.records.truncated || cost.records.skipped > 0) lines.push(`  ${cost.records.skipped} usage records unreadable${cost.records.truncated ? ', and not all were read: totals are lower bounds' : ''}`);
  return lines;
}

/**
 * A sweep's cost from the usage records in the store, for `sweep status`: `running` measures the
 * elapsed time to now, else to the last attempt's end.
 */
export async function loadSweepCost(store: BlobStore, workflowId: string, opts: { prices?: CostPrices | null; running: boolean }): Promise<SweepCost> {
  const aggregator = new CostAggregator(workflowId);
  const summary = await forEachUsageRecord(store, workflowId, { executionStart: EXECUTION_START_ACTIVITY }, (r) => aggregator.add(r));
  return aggregator.finish({
    prices: opts.prices ?? null,
    since: summary.since,
    until: opts.running ? Date.now() : 0,
    records: { read: summary.read, skipped: summary.skipped, truncated: summary.truncated, problems: summary.problems },
  });
}
