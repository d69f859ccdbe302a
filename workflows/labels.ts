// What the Temporal UI shows of a sweep's children and activity calls without decoding a payload:
// one-line summaries ("real · classifier · N=200 · seed 0"), markdown details, and the memos of
// child workflows. Pure functions of their inputs, so workflow code stays deterministic.
import type { ActivityOptions } from '@temporalio/workflow';
import { describeSource } from '../contracts/sources.js';
import type { CellWorkflowInput, DataSourceSpec } from '../contracts/sweep.js';
import type { TaskName } from '../contracts/tasks.js';

/** The UI shows summaries on one line; long ones (a remote generator's URL) are cut. */
const MAX_SUMMARY = 160;

export function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_SUMMARY ? `${flat.slice(0, MAX_SUMMARY - 1)}…` : flat;
}

/** Per-call activity options: the summary the UI shows on the activity's events and timeline bar. */
export function summary(text: string): ActivityOptions {
  return { summary: oneLine(text) };
}

export interface CellLabel {
  source: string;
  task: TaskName;
  size: number;
  seed: number;
}

/** "real · classifier · N=200 · seed 0": the cell's child summary, and the prefix of its activities' summaries. */
export function cellSummary(cell: CellLabel): string {
  return `${cell.source} · ${cell.task} · N=${cell.size} · seed ${cell.seed}`;
}

/** What the cell reads and is evaluated on, as markdown for the child's details. */
export function cellDetails(input: CellWorkflowInput): string {
  const lines = [
    `**${input.task ?? 'classifier'} cell** of sweep \`${input.sweepId}\`: source \`${input.source}\`, N=${input.size}, seed ${input.seed}`,
    `- data: samples ${input.offset ?? 0}–${(input.offset ?? 0) + input.size - 1} of \`${input.manifestUri}\``,
    ...(input.mix ?? []).map((m) => `- mixed in: ${m.count} samples of \`${m.manifestUri}\` from ${m.offset ?? 0}`),
    `- eval sets: ${input.evalSets.map((e) => `${e.name} (${e.split}${e.shift ? `, ${e.shift.suite} ${e.shift.severity}` : ''})`).join(', ')}`,
  ];
  return lines.join('\n');
}

/** A cell child's memo: what the UI's memo panel shows without decoding the input. */
export function cellMemo(input: CellWorkflowInput): Record<string, unknown> {
  return { sweepId: input.sweepId, source: input.source, task: input.task ?? 'classifier', size: input.size, seed: input.seed };
}

/** "syn · synthetic · embedded-gmm …, prompts: classnames, CFG 1.5": the source child's summary. */
export function sourceSummary(source: DataSourceSpec): string {
  return oneLine(`${source.name} · ${source.kind} · ${describeSource(source)}`);
}

export function sourceDetails(source: DataSourceSpec, sweepId: string, images: number): string {
  return [`**${source.kind} source** \`${source.name}\` of sweep \`${sweepId}\``, `- ${describeSource(source)}`, `- images: ${images}`].join('\n');
}

export function sourceMemo(source: DataSourceSpec, sweepId: string): Record<string, unknown> {
  return { sweepId, source: source.name, kind: source.kind };
}
