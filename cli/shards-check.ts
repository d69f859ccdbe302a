// `synthscale shards check <shards...>`: a shard set (local paths, file:// or gs:// URIs, with
// WebDataset brace ranges such as data/{00000..00099}.tar) checked before a sweep reads it: per
// shard its sample count and first bad entry, missing shards, total size and samples
// (core/shards/check.ts). Prints a table (or --json); fails, after printing, when anything is wrong.
// Shard and entry names are untrusted: every one is escaped before it is printed.
import { defineCommand } from 'citty';
import type { ShardLayoutName, ShardSetReport } from '../core/shards/check.js';

const LAYOUTS = ['auto', 'img2dataset', 'webdataset'] as const;

export interface ShardsCheckArgs {
  shards: string[];
  minSamples?: string;
  layout?: string;
  json?: boolean;
}

function parseMinSamples(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new Error(`--min-samples takes a whole number of samples such as 10000, not ${JSON.stringify(value)}`);
  return n;
}

const count = (n: number) => n.toLocaleString('en-US');

/** A byte count in binary units. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** The report as lines for people: one per shard, then the totals and every problem. */
export function formatShardReport(report: ShardSetReport): string[] {
  const lines: string[] = [];
  for (const shard of report.shards) {
    const samples = shard.samples !== undefined ? `${count(shard.samples)} samples` : '';
    const size = shard.bytes !== undefined ? formatBytes(shard.bytes) : '';
    const extra = shard.emptyCaptions ? `, ${count(shard.emptyCaptions)} empty captions skipped` : '';
    lines.push(`${shard.status.padEnd(7)} ${shard.uri}  ${[samples, size].filter(Boolean).join(', ')}${extra}`.trimEnd());
  }
  const bad = report.shards.filter((s) => s.status === 'bad').length;
  lines.push(
    `${report.shards.length} shards (${report.layout} layout): ${count(report.totalSamples)} samples, ${formatBytes(report.totalBytes)}; ` +
      `${report.missing.length} missing, ${bad} bad`,
  );
  if (report.problems.length > 0) {
    lines.push(`${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}:`);
    for (const p of report.problems) lines.push(`  ${p.shard ?? 'shard set'}${p.key !== undefined ? ` [${p.key}]` : ''}: ${p.message}`);
  }
  return lines;
}

/** Check the shards and print the report; the report, whatever it says (the command fails on problems). */
export async function runShardsCheck(args: ShardsCheckArgs, print: (line: string) => void): Promise<ShardSetReport> {
  if (args.shards.length === 0) throw new Error('name the shards to check, e.g. synthscale shards check data/{00000..00099}.tar');
  const layout = (args.layout ?? 'auto') as (typeof LAYOUTS)[number];
  if (!LAYOUTS.includes(layout)) throw new Error(`--layout must be one of ${LAYOUTS.join(', ')}, not ${JSON.stringify(args.layout)}`);
  const minSamples = parseMinSamples(args.minSamples);
  const { checkShardSet, shardUris } = await import('../core/shards/check.js');
  const uris = shardUris(args.shards);
  const report = await checkShardSet(uris, { layout: layout as ShardLayoutName | 'auto', ...(minSamples !== undefined ? { minSamples } : {}) });
  if (args.json) print(JSON.stringify(report, null, 2));
  else for (const line of formatShardReport(report)) print(line);
  return report;
}

const check = defineCommand({
  meta: { name: 'check', description: 'Check shards: per shard its samples and first bad entry, missing shards, totals (non-zero exit on problems)' },
  args: {
    shards: { type: 'positional', description: 'shards: local paths, file:// or gs:// URIs, brace ranges like data/{00000..00099}.tar (quote them)', required: true },
    'min-samples': { type: 'string', description: 'fail if the shards hold fewer samples than this (e.g. the largest N of a sweep)' },
    layout: { type: 'string', description: `${LAYOUTS.join(' | ')}: img2dataset ({key}.jpg|png|webp + .txt + .json) or synthscale's own ({key}.png + .json); auto tells them apart`, default: 'auto' },
    json: { type: 'boolean', description: 'print the report as JSON', default: false },
  },
  async run({ args }) {
    // citty gives the first positional by name and every positional in `_`.
    const shards = (args._ as string[] | undefined)?.length ? (args._ as string[]) : [args.shards];
    const report = await runShardsCheck({ shards, minSamples: args['min-samples'], layout: args.layout, json: args.json }, (line) => console.log(line));
    if (!report.ok) {
      throw Object.assign(new Error(`${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} in ${report.shards.length} shards (listed above)`), {
        code: 'E_SHARDS_CHECK',
      });
    }
  },
});

export const shardsCommand = defineCommand({
  meta: { name: 'shards', description: 'Check WebDataset / img2dataset shards before a sweep reads them' },
  subCommands: { check },
});
