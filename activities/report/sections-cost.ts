// The report's Cost section: CPU- and GPU-seconds, throughput and (with prices) money per stage,
// per source and per training-set size, from the workers' usage records (contracts/cost.ts).
import { formatUsd, type SweepCost, type UsageTotals } from '../../contracts/cost.js';
import { heading, list, md, paragraph, table, type Block, type Text } from './document.js';
import { duration } from './format.js';

/** Machine seconds: one decimal when small, whole seconds with separators when large. */
export function machineSeconds(x: number): string {
  if (!Number.isFinite(x)) return '—';
  return x < 100 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US');
}

function rate(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return '—';
  return x < 10 ? x.toFixed(2) : Math.round(x).toLocaleString('en-US');
}

function attempts(t: UsageTotals): string {
  return t.failedAttempts > 0 ? `${t.attempts} (${t.failedAttempts} failed)` : String(t.attempts);
}

function usageCells(t: UsageTotals, priced: boolean): Text[] {
  return [
    attempts(t),
    duration(t.activitySeconds),
    machineSeconds(t.cpuSeconds),
    machineSeconds(t.gpuSeconds),
    rate(t.imagesPerSecond),
    rate(t.stepsPerSecond),
    ...(priced ? [formatUsd(t.costUsd)] : []),
  ];
}

const USAGE_HEADER = ['attempts', 'activity time (summed)', 'CPU-seconds', 'GPU-seconds', 'images/s', 'steps/s'];

function pricesText(cost: SweepCost): Text {
  if (!cost.prices) {
    return md`No prices in the spec, so machine time only; add \`cost: { cpuHourUsd: 0.05, gpuHourUsd: 2.5 }\` to see money.`;
  }
  return (
    `Prices: ${formatUsd(cost.prices.cpuHourUsd)} per CPU-hour, ${formatUsd(cost.prices.gpuHourUsd)} per GPU-hour; ` +
    `this execution cost ${formatUsd(cost.totals.costUsd)} (${(cost.totals.cpuSeconds / 3600).toFixed(3)} CPU-hours, ${(cost.totals.gpuSeconds / 3600).toFixed(3)} GPU-hours).`
  );
}

export function costSections(cost: SweepCost | undefined): Block[] {
  if (!cost || cost.totals.attempts === 0) return [];
  const priced = cost.prices !== null;
  const header = [...USAGE_HEADER, ...(priced ? ['cost'] : [])];
  const out: Block[] = [
    heading(2, 'Cost'),
    paragraph(pricesText(cost)),
    paragraph('Rates are over the activity time of the attempts that did that work (images generated or trained on, training steps run).'),
    table(['stage', ...header], [...cost.stages.map((s) => [s.stage, ...usageCells(s, priced)]), [md`**total**`, ...usageCells(cost.totals, priced)]]),
  ];
  if (cost.sources.length > 0) {
    out.push(
      heading(3, 'By source'),
      table(
        ['source', 'wall span (overlapping)', ...header],
        [
          ...cost.sources.map((s) => [s.source, duration(s.wall.seconds), ...usageCells(s, priced)]),
          ...(cost.sweepLevel.attempts > 0 ? [[md`*sweep level (plan, analysis, recognizability)*`, '—', ...usageCells(cost.sweepLevel, priced)]] : []),
        ],
      ),
    );
    const sized = cost.sources.filter((s) => s.sizes.length > 0);
    if (sized.length > 0) {
      out.push({
        kind: 'details',
        summary: 'Cost by training-set size N (all tasks and seeds of each source)',
        blocks: [
          table(
            ['source', 'N', 'attempts', 'activity time', 'CPU-seconds', 'GPU-seconds', ...(priced ? ['cost'] : [])],
            sized.flatMap((s) =>
              s.sizes.map((z) => [s.source, z.size < 0 ? 'other' : String(z.size), attempts(z), duration(z.activitySeconds), machineSeconds(z.cpuSeconds), machineSeconds(z.gpuSeconds), ...(priced ? [formatUsd(z.costUsd)] : [])]),
            ),
          ),
        ],
      });
    }
  }
  const problems = [
    ...(cost.records.truncated ? [`Only the first ${cost.records.read + cost.records.skipped} usage records were read; the totals are lower bounds.`] : []),
    ...(cost.records.skipped > 0 ? [`${cost.records.skipped} usage records could not be read and are left out, e.g. ${cost.records.problems[0] ?? ''}`] : []),
  ];
  out.push(list([...cost.notes, ...problems]));
  return out;
}
