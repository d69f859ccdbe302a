// What the sweep, data-source and cell workflows take and return, and what the CLI and report read
// back: small summaries only (storage URIs and counters, never images or tensors).
import type { SourceSpec, SweepSpec, TrainingRecipe } from './spec/sweep.js';
import type { EvalSetSpec, SourceSummary } from './types.js';
import type { SweepPlan } from './plan.js';
import type { TaskName } from './tasks.js';
import type { DataPart } from './cells.js';
import type { AdaptiveRunState } from './adaptive-run.js';

export type { RealSourceSpec } from './spec/sweep.js';
/** A shard as a manifest lists it (the format is core/shards/manifest.ts's). */
export type { ShardRecord } from '../core/shards/manifest.js';

export interface SweepStats extends GenerationStats {
  cellsDone: number;
  cellsCached: number;
  cellsTotal: number;
  trainStepsRun: number;
  cellActivityRetries: number;
  /** Workflow runs so far (1 + continue-as-new count). */
  runs: number;
}

/** What survives continue-as-new. */
export interface SweepState {
  plan: SweepPlan;
  sources: SourceSummary[];
  /** Per source: cells [0, cursor) in (size, seed) order are finished. */
  cursors: Record<string, number>;
  stats: SweepStats;
  startedAt: number;
  stageSeconds: Record<string, number>;
  paused: boolean;
  /** Recognizability results per synthetic source, once measured (spec.recognizability). */
  recognizability?: RecognizabilityRef[];
  /** Finished cells' losses per curve and N (the first eval set), for the live slopes of the sweep's details. */
  liveLosses?: LiveLosses;
  /** spec.adaptive: the loop's rounds, decisions and targets now. */
  adaptive?: AdaptiveRunState;
}

/** Per curve (source or `clip:<source>`), per N: the sum and count of finished cells' losses. */
export type LiveLosses = Record<string, Record<string, { sum: number; cells: number }>>;

export interface RecognizabilityRef {
  source: string;
  resultUri: string;
  overall: number;
}

export interface SweepProgress {
  sweepId: string;
  stage: string;
  paused: boolean;
  sources: { done: number; total: number };
  images: { done: number; total: number };
  cells: { done: number; running: number; total: number; cached: number };
  stats: SweepStats;
  elapsedSeconds: number;
  /** Naive ETA from the mean rate of finished cells (null until one finishes). */
  etaSeconds: number | null;
  /** spec.adaptive: the round, the intervals against their targets, and why the loop stopped. */
  adaptive?: Pick<AdaptiveRunState, 'round' | 'intervals' | 'stop' | 'budget' | 'cellsAdded'>;
}

export interface SweepResult {
  sweepId: string;
  reportUri: string;
  reportMarkdownUri: string;
  plotUri: string;
  /** report.html: the whole report as one self-contained page (absent from reports rendered before it). */
  reportHtmlUri?: string;
  /** The scaling plot as PNG, and one sample sheet per source with images of its own. */
  plotPngUri?: string;
  sampleSheetUris?: Record<string, string>;
  /** The CFG trade-off figure (recognizability, diversity and accuracy against CFG) as PNG, when the sweep has one. */
  diversityPngUri?: string;
  cells: number;
  cachedCells: number;
  stats: SweepStats;
  stageSeconds: Record<string, number>;
}

/** Sources with data of their own (a mixed source reads its real and synthetic sources' shards). */
export type DataSourceSpec = Exclude<SourceSpec, { kind: 'mixed' }>;

export interface DataSourceInput {
  sweepId: string;
  source: DataSourceSpec;
  /** Images the sweep needs: its largest N. Smaller N take a prefix (nested subsets). */
  count: number;
  shardSize: number;
  generationSeed: number;
  maxConcurrentShards: number;
  /** Fraction of items that may fail for good; that many extra images are generated. */
  failureBudget: number;
  classes: string[];
  /** WordNet ids per class, when the dataset gives them (description and hypernym prompts). */
  wnids?: (string | null)[];
  datasetFingerprint: string;
  /** A synthetic source: the content hash of its configuration (from the plan), prefix of its storage keys. */
  sourceKey?: string;
  /** seedDraws 'data': the sweep's seeds; real and control sources write one manifest per seed. */
  seeds?: number[];
  /** Position of the source in the spec (for errors naming its field, e.g. sources.2.shards). */
  sourceIndex?: number;
  /** A `real-captions` source with `source` set: the manifest of that real-pairs source. */
  captionsManifestUri?: string;
}

export interface GenerationStats {
  imagesSampled: number;
  shardsCached: number;
  activityRetries: number;
  itemRetries: number;
  storageRetries: number;
  failedItems: number;
  corruptRegenerated: number;
}

export interface DataSourceOutput {
  summary: SourceSummary;
  stats: GenerationStats;
}

export interface DataSourceProgress {
  stage: string;
  paused: boolean;
  shardsDone: number;
  shardsTotal: number;
  imagesDone: number;
  stats: GenerationStats;
}

export function emptyGenerationStats(): GenerationStats {
  return { imagesSampled: 0, shardsCached: 0, activityRetries: 0, itemRetries: 0, storageRetries: 0, failedItems: 0, corruptRegenerated: 0 };
}

export interface CellWorkflowInput {
  sweepId: string;
  source: string;
  manifestUri: string;
  size: number;
  /** The cell reads samples [offset, offset + size) of `manifestUri` (default 0): its seed's window. */
  offset?: number;
  seed: number;
  recipe: TrainingRecipe;
  evalSets: EvalSetSpec[];
  /** A mixed source's synthetic part, trained on after the `size` real samples. */
  mix?: DataPart[];
  /** 'clip': train CLIP on image-caption pairs and evaluate zero-shot (default 'classifier'). */
  task?: TaskName;
  clipRecipe?: SweepSpec['clip'];
  /** Seed of the real images' captions (the sweep's generation seed). */
  captionSeed?: number;
  /** CLIP cells on a dataset other than Fashion-MNIST at 28x28 grey: its fingerprint and class names (zero-shot prompts, probe). */
  dataset?: { fingerprint: string; classes: string[] };
}

export interface CellWorkflowOutput {
  cellPrefix: string;
  /** True when training and every evaluation came from the store. */
  cached: boolean;
  stepsRun: number;
  activityRetries: number;
  /** The headline metrics per eval set, in the input's order (absent from cells run before they were returned). */
  metrics?: CellEvalMetrics[];
}

/** One eval set's headline numbers for a cell (the full results, per class, stay in the store). */
export interface CellEvalMetrics {
  evalSet: string;
  accuracy: number;
  loss: number;
  /** Expected calibration error. */
  ece: number;
  /** CLIP cells: the single-template zero-shot accuracy, the learned logit scale and, on clean sets, the linear probe's accuracy. */
  clip?: { singleAccuracy: number; logitScale: number; probeAccuracy?: number };
}
