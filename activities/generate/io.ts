// The generation stage's activity inputs and outputs, as workflows see them (through
// ReturnType<typeof createGenerateActivities>), and its heartbeat details.
import type { GeneratorSpec } from '../../contracts/spec/sweep.js';
import type { FittedGeneratorSpec } from '../../contracts/generators.js';
import type { ShardRecord } from '../../core/shards/manifest.js';

export interface FitGeneratorInput {
  generator: FittedGeneratorSpec;
  classes: string[];
  datasetFingerprint: string;
}

export interface FitGeneratorOutput {
  modelUri: string;
  /** Real training images the generator was fitted on (all from the generator pool). */
  realImages: number;
  cached: boolean;
  seconds: number;
}

export interface GenerateShardInput {
  source: string;
  shardKey: string;
  modelUri: string;
  promptsUri: string;
  firstIndex: number;
  count: number;
  cfgScale: number;
  steps: number;
  generationSeed: number;
  generatorLabel: string;
  /**
   * The source's generator spec. Absent or 'embedded-gmm': the embedded generator at `modelUri`;
   * an HTTP generator ('a1111', 'openai-images'): its endpoint, with `modelUri` unused. Holds no
   * secrets: a token is named by `apiKeyEnv` and read from the worker's environment.
   */
  generator?: GeneratorSpec;
  /** Class names (needed when there is no embedded model to take them from). */
  classes?: string[];
  /**
   * The sweep's dataset: an HTTP generator's images are brought to its geometry (absent: 28x28
   * grey). A fitted model has its own geometry and needs none.
   */
  datasetFingerprint?: string;
  /** Tries per item before it is recorded in failedItems (default 3). */
  itemAttempts?: number;
  /**
   * Items per committed part (default 50): the most work a crash can lose, or, for a generator fast
   * enough that chunkSize items take less than SYNTHSCALE_GENERATE_PART_MIN_MS (default 1 s), that
   * much sampling time (./shard-input.ts).
   */
  chunkSize?: number;
}

export interface GenerateShardOutput extends ShardRecord {
  cached: boolean;
  seconds: number;
  /** The Temporal attempt that produced this output (1 = first try). */
  attempt: number;
  /** Items sampled by this attempt (failed ones included): 0 when cached or fully resumed. */
  imagesSampled: number;
  /** Offset within the shard this attempt started sampling at (count when cached). */
  resumedFrom: number;
  /** Per-item retries in this attempt. */
  itemRetries: number;
  /** Storage calls retried in this attempt. */
  storageRetries: number;
  /** An existing shard or part failed its checksum (or validation) and was regenerated. */
  corruptRegenerated: boolean;
}

/** Durable progress, as heartbeat details: items [0, imagesDone) of `shard` are in committed parts. */
export interface GenerateHeartbeat {
  imagesDone: number;
  of: number;
  shard: string;
}
