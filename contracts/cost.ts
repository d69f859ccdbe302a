// What a sweep cost: machine time per stage and per source, summed from the workers' per-attempt
// usage records (core/usage/record.ts), and money when the spec gives prices (spec/cost.ts).
// Pure: the report activity reads the records and folds them here one by one (CostAggregator).
//
// Two kinds of time, never added together:
//   wall time      the sweep's elapsed time, and each stage's span from its first attempt's start
//                  to its last attempt's end; stages run side by side, so spans overlap
//   activity time  the attempts' own durations summed: what the workers were busy for
import type { UsageRecord } from '../core/usage/record.js';
import type { CostPrices } from './spec/cost.js';
import { TASKS, type TaskName } from './tasks.js';

export type { AttemptOutcome, UsageRecord } from '../core/usage/record.js';
export type { CostPrices } from './spec/cost.js';

/** Every execution of a sweep starts with this activity; its first attempt marks the execution's start. */
export const EXECUTION_START_ACTIVITY = 'planSweep';

/** The pipeline stage of each activity type (activities/index.ts); unknown types are their own stage. */
export const STAGE_OF_ACTIVITY: Readonly<Record<string, string>> = {
  planSweep: 'plan',
  importDataset: 'datasets',
  synthesizePrompts: 'prompts',
  fitGenerator: 'fit-generator',
  generateShard: 'generate',
  writeControlShards: 'generate',
  writeRealShards: 'shards',
  writeSourceManifest: 'shards',
  writeFashionMnistPairs: 'shards',
  importPairShards: 'shards',
  trainClassifier: 'train',
  trainClipCell: 'train',
  evaluateClassifier: 'evaluate',
  evaluateClip: 'evaluate',
  measureRecognizability: 'recognizability',
  analyzeSweepResults: 'analyze',
  decideNextCells: 'adapt',
  renderSweepReport: 'report',
  notifySweep: 'notify',
};

const STAGE_ORDER = ['plan', 'datasets', 'prompts', 'fit-generator', 'generate', 'shards', 'train', 'evaluate', 'recognizability', 'adapt', 'analyze', 'report', 'notify'];

export function stageOfActivity(activityType: string): string {
  return STAGE_OF_ACTIVITY[activityType] ?? activityType;
}

/** Where in the sweep a workflow id sits: `<root>/source/<name>` or `<root>/cell/<source>/[clip/]n<N>/s<seed>` (contracts/keys.ts). */
export interface UsageScope {
  source: string | null;
  task: TaskName | null;
  size: number | null;
  seed: number | null;
}

export function scopeOfWorkflowId(workflowId: string): UsageScope {
  const none: UsageScope = { source: null, task: null, size: null, seed: null };
  const [, kind, source, ...rest] = workflowId.split('/');
  if (!source) return none;
  if (kind === 'source' && rest.length === 0) return { ...none, source };
  if (kind !== 'cell') return none;
  const part = rest.join('/');
  const match = /n(\d+)\/s(\d+)$/.exec(part);
  if (match) {
    const size = Number(match[1]);
    const seed = Number(match[2]);
    const task = (Object.keys(TASKS) as TaskName[]).find((t) => TASKS[t].cellIdPart(size, seed) === part);
    if (task) return { source, task, size, seed };
  }
  return { ...none, source };
}

/** Summed over a set of attempts. Rates are over the activity time of the attempts that did that work. */
export interface UsageTotals {
  attempts: number;
  /** Attempts that failed or were cancelled (they cost machine time too; their retries are further attempts). */
  failedAttempts: number;
  /** Attempts whose result came from the store (little work). */
  cachedAttempts: number;
  /** The attempts' durations summed (not wall time: attempts overlap). */
  activitySeconds: number;
  cpuSeconds: number;
  gpuSeconds: number;
  /** Images generated or trained on, and training steps run. */
  images: number;
  steps: number;
  imagesPerSecond: number | null;
  stepsPerSecond: number | null;
  /** cpuSeconds and gpuSeconds at the spec's prices; null without prices. */
  costUsd: number | null;
}

/** A stretch of wall-clock time: epoch-ms ends as ISO strings, and its length. */
export interface WallSpan {
  start: string;
  end: string;
  seconds: number;
}

export interface StageCost extends UsageTotals {
  stage: string;
  /** From the stage's first attempt's start to its last attempt's end (overlaps other stages). */
  wall: WallSpan;
}

export interface SizeCost extends UsageTotals {
  size: number;
}

export interface SourceCost extends UsageTotals {
  source: string;
  wall: WallSpan;
  /** Its cells by N (all tasks and seeds): what each training-set size cost. */
  sizes: SizeCost[];
}

export interface SweepCost {
  version: 1;
  workflowId: string;
  /** The sweep's elapsed wall time: the execution's start to when this was computed. */
  wall: WallSpan;
  totals: UsageTotals;
  stages: StageCost[];
  sources: SourceCost[];
  /** Attempts of no source: planning, analysis, report, recognizability. */
  sweepLevel: UsageTotals;
  prices: CostPrices | null;
  records: { read: number; skipped: number; truncated: boolean; problems: string[] };
  /** How the numbers were measured, for the reader. */
  notes: string[];
}

export const COST_NOTES: readonly string[] = [
  'CPU-seconds: the worker process\'s CPU time (all threads, user + system) over each attempt, split evenly among the attempts running at once in that worker; CPU time while no activity runs is not counted.',
  'GPU-seconds: each attempt\'s wall time x the GPUs its worker holds, busy or not (0 on CPU workers); a GPU worker idle between attempts is not counted.',
  'Failed, cancelled and retried attempts are counted: they used the machines too. An attempt whose worker died writes no record.',
  'The report activity itself is not counted (its record is written after the report).',
];

/** Sources beyond this many distinct names are folded into one (records are untrusted input). */
const MAX_SOURCES = 256;
const MAX_SIZES = 256;
const OTHER = '(other)';

class Totals {
  attempts = 0;
  failed = 0;
  cached = 0;
  seconds = 0;
  cpu = 0;
  gpu = 0;
  images = 0;
  imageSeconds = 0;
  steps = 0;
  stepSeconds = 0;
  start = Infinity;
  end = -Infinity;

  add(r: UsageRecord): void {
    const seconds = (r.endedAt - r.startedAt) / 1000;
    this.attempts++;
    if (r.outcome !== 'completed') this.failed++;
    if (r.cached) this.cached++;
    this.seconds += seconds;
    this.cpu += r.cpuSeconds;
    this.gpu += r.gpuSeconds;
    if (r.images) {
      this.images += r.images;
      this.imageSeconds += seconds;
    }
    if (r.steps) {
      this.steps += r.steps;
      this.stepSeconds += seconds;
    }
    this.start = Math.min(this.start, r.startedAt);
    this.end = Math.max(this.end, r.endedAt);
  }

  totals(prices: CostPrices | null): UsageTotals {
    return {
      attempts: this.attempts,
      failedAttempts: this.failed,
      cachedAttempts: this.cached,
      activitySeconds: this.seconds,
      cpuSeconds: this.cpu,
      gpuSeconds: this.gpu,
      images: this.images,
      steps: this.steps,
      imagesPerSecond: this.imageSeconds > 0 ? this.images / this.imageSeconds : null,
      stepsPerSecond: this.stepSeconds > 0 ? this.steps / this.stepSeconds : null,
      costUsd: costUsd(this.cpu, this.gpu, prices),
    };
  }

  span(): WallSpan {
    return wallSpan(this.start, this.end);
  }
}

export function costUsd(cpuSeconds: number, gpuSeconds: number, prices: CostPrices | null): number | null {
  if (!prices) return null;
  return (cpuSeconds / 3600) * prices.cpuHourUsd + (gpuSeconds / 3600) * prices.gpuHourUsd;
}

function wallSpan(start: number, end: number): WallSpan {
  if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) return { start: '', end: '', seconds: 0 };
  return { start: new Date(start).toISOString(), end: new Date(end).toISOString(), seconds: (end - start) / 1000 };
}

function bucket<K>(map: Map<K, Totals>, key: K, cap: number, other: K): Totals {
  const k = map.has(key) || map.size < cap ? key : other;
  let found = map.get(k);
  if (!found) map.set(k, (found = new Totals()));
  return found;
}

/** Folds usage records into a SweepCost; holds one small accumulator per stage, source and N. */
export class CostAggregator {
  private readonly all = new Totals();
  private readonly sweepLevel = new Totals();
  private readonly stages = new Map<string, Totals>();
  private readonly sources = new Map<string, { totals: Totals; sizes: Map<number, Totals> }>();

  constructor(readonly workflowId: string) {}

  add(record: UsageRecord): void {
    this.all.add(record);
    bucket(this.stages, stageOfActivity(record.activityType), MAX_SOURCES, OTHER).add(record);
    const scope = scopeOfWorkflowId(record.workflowId);
    if (scope.source === null) {
      this.sweepLevel.add(record);
      return;
    }
    const name = this.sources.has(scope.source) || this.sources.size < MAX_SOURCES ? scope.source : OTHER;
    let source = this.sources.get(name);
    if (!source) this.sources.set(name, (source = { totals: new Totals(), sizes: new Map() }));
    source.totals.add(record);
    if (scope.size !== null) bucket(source.sizes, scope.size, MAX_SIZES, -1).add(record);
  }

  /**
   * The sweep's cost. `since`: the execution's start (epoch ms; default its first attempt's start);
   * `until`: now, for the elapsed wall time.
   */
  finish(opts: { prices: CostPrices | null; since: number | null; until: number; records: SweepCost['records'] }): SweepCost {
    const { prices } = opts;
    const rank = (stage: string) => (STAGE_ORDER.includes(stage) ? STAGE_ORDER.indexOf(stage) : STAGE_ORDER.length);
    const start = opts.since ?? this.all.start;
    return {
      version: 1,
      workflowId: this.workflowId,
      wall: wallSpan(start, Math.max(opts.until, this.all.end)),
      totals: this.all.totals(prices),
      stages: [...this.stages.entries()]
        .sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : 1))
        .map(([stage, t]) => ({ stage, wall: t.span(), ...t.totals(prices) })),
      sources: [...this.sources.entries()].map(([source, { totals, sizes }]) => ({
        source,
        wall: totals.span(),
        ...totals.totals(prices),
        sizes: [...sizes.entries()].sort(([a], [b]) => a - b).map(([size, t]) => ({ size, ...t.totals(prices) })),
      })),
      sweepLevel: this.sweepLevel.totals(prices),
      prices,
      records: opts.records,
      notes: [...COST_NOTES],
    };
  }
}

/** Money for people: "$0.0000088", "$0.0042", "$1.25", "$1,234". */
export function formatUsd(usd: number | null): string {
  if (usd === null || !Number.isFinite(usd)) return '—';
  if (usd === 0) return '$0';
  if (usd < 1e-6) return '<$0.000001';
  // Two significant digits in fixed notation: $0.0000088, $0.0042.
  if (usd < 0.01) return `$${usd.toFixed(1 - Math.floor(Math.log10(usd)))}`;
  if (usd < 1000) return `$${usd.toFixed(2)}`;
  return `$${Math.round(usd).toLocaleString('en-US')}`;
}
