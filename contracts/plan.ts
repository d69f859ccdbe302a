// The plan a sweep runs on: the validated spec and what every later stage depends on, with each
// data source's content-addressed storage prefix and the eval sets every cell is evaluated on.
import { inputHash } from '../core/hash.js';
import type { SweepSpec, SyntheticSourceSpec } from './spec/sweep.js';
import type { EvalSetSpec } from './types.js';
import type { ImageGeometry } from '../core/image/geometry.js';
import type { ImportSkips } from '../core/datasets/descriptor.js';
import type { DatasetImportInput, DatasetImportOutput } from './datasets.js';
import { GENERATOR_CODE_VERSION, PROMPTS_CODE_VERSION } from './code-versions.js';

export const SYNTHETIC_SHARDS_CODE_VERSION = 'synthetic-shards-1';

/** What the report and prompts need to know of a dataset the sweep uses (its own, or an eval set's). */
export interface DatasetInfo {
  fingerprint: string;
  title: string;
  /** Where its images came from: 'built-in', or the image folder / shards location. */
  origin: string;
  geometry: ImageGeometry;
  /** The geometry its images had before the sweep's resize rule (built-in datasets), when it differs. */
  nativeGeometry?: ImageGeometry;
  classes: string[];
  /** WordNet ids per class, when the dataset gives them (prompt strategies use them). */
  wnids?: (string | null)[];
  splits: Record<string, { count: number; classCounts: number[] }>;
  /** Imported datasets: inputs read and what was skipped, by reason. */
  imported?: { inputs: number; skipped: ImportSkips };
}

export interface SweepPlan {
  spec: SweepSpec;
  classes: string[];
  datasetFingerprint: string;
  /** The sweep's dataset and geometry (absent in plans from before datasets had descriptors: Fashion-MNIST 28x28 grey). */
  dataset?: DatasetInfo;
  /** What activities are told of the sweep's dataset: its fingerprint, absent for Fashion-MNIST at 28x28 grey (old keys stay). */
  datasetRef?: string;
  /** Eval sets' own datasets, by fingerprint. */
  evalDatasets?: Record<string, DatasetInfo>;
  storeRoot: string;
  /**
   * Per synthetic source: the storage prefix of its shards, a hash of everything that determines
   * them. Real and real-pairs sources are keyed by their own stage from their content (the
   * dataset, or the input shards' checksums), which only reading them tells; a mixed source has
   * no data of its own.
   */
  sourceKeys: Record<string, string>;
  /** Every eval set a cell is evaluated on: the spec's `eval` entries, then one per OOD suite. */
  evalSets?: EvalSetSpec[];
  /**
   * Datasets to import before the plan is complete: the workflow runs these imports and plans
   * again with their outputs (the sweep's own dataset first, then eval sets' datasets, whose
   * classes must match its). Absent or empty: the plan is complete.
   */
  imports?: DatasetImportInput[];
}

export interface PlanSweepInput {
  spec: unknown;
  /** Imports done so far, by role ('dataset', 'eval.<i>.dataset'). */
  imported?: Record<string, DatasetImportOutput>;
}

/**
 * Image i of a synthetic source depends only on (generator, prompt strategy, CFG, seed, i), not on
 * how many images the sweep asks for, so sweeps with a different largest N share shards.
 */
export function sourceKeyFor(spec: SweepSpec, source: SyntheticSourceSpec, fingerprint: string): string {
  // Prompts that are a real-pairs source's captions depend on that source's shards.
  const captionsFrom = source.prompts.strategy === 'real-captions' && source.prompts.source !== undefined ? spec.sources.find((s) => s.name === (source.prompts as { source?: string }).source) : undefined;
  const hash = inputHash('synthetic-source', `${SYNTHETIC_SHARDS_CODE_VERSION}+${GENERATOR_CODE_VERSION}+${PROMPTS_CODE_VERSION}`, {
    generator: source.generator,
    prompts: source.prompts,
    cfgScale: source.cfgScale,
    ...(captionsFrom ? { captionsFrom: { ...captionsFrom, name: undefined } } : {}),
    generationSeed: spec.generation.seed,
    shardSize: spec.generation.shardSize,
    dataset: fingerprint,
  });
  return `sources/synthetic-${hash}`;
}

/** The plan's source keys: one per synthetic source. */
export function sourceKeysFor(spec: SweepSpec, fingerprint: string): Record<string, string> {
  return Object.fromEntries(
    spec.sources.flatMap((source) => (source.kind === 'synthetic' ? [[source.name, sourceKeyFor(spec, source, fingerprint)]] : [])),
  );
}

