// Generation stage: fit the embedded generator once (cached, ./fit-generator.ts), then render one
// shard per activity (./generate-shard.ts) with the generator kind the source names
// (./backends.ts); the control source's real images through the generator's PCA
// (./control-shards.ts). Storage calls go through retries and, in tests, injected faults.
import { log } from '@temporalio/activity';
import type { ActivityDeps } from '../../core/activity-deps.js';
import { injectStorageFaults } from '../../core/faults.js';
import { withRetries, type ResilientBlobStore } from '../../core/resilience.js';
import { errorMessage } from './cancellation.js';
import { writeControlShards, type WriteControlShardsInput, type WriteControlShardsOutput } from './control-shards.js';
import { fitGenerator } from './fit-generator.js';
import { generateShard } from './generate-shard.js';
import type { FitGeneratorInput, FitGeneratorOutput, GenerateShardInput, GenerateShardOutput } from './io.js';

export type { FitGeneratorInput, FitGeneratorOutput, GenerateHeartbeat, GenerateShardInput, GenerateShardOutput } from './io.js';
export type { WriteControlShardsInput, WriteControlShardsOutput } from './control-shards.js';
export type { GenerateItem, ItemGenerator } from './item-generator.js';
export { DEFAULT_CHUNK_SIZE, DEFAULT_ITEM_ATTEMPTS, GENERATE_ITEM_TIMEOUT_ENV, itemTimeoutFromEnv } from './shard-input.js';
export { parseGenerateHeartbeat } from './heartbeat.js';
export { PART_FORMAT, partKey } from './parts.js';

export function createGenerateActivities(deps: ActivityDeps) {
  const resilientStore = (what: string): ResilientBlobStore =>
    withRetries(injectStorageFaults(deps.store), {
      onRetry: (op, err) => log.warn('retrying storage call', { op, for: what, error: errorMessage(err) }),
    });

  return {
    fitGenerator: (input: FitGeneratorInput): Promise<FitGeneratorOutput> => fitGenerator(deps, resilientStore, input),
    generateShard: (input: GenerateShardInput): Promise<GenerateShardOutput> => generateShard(deps, resilientStore, input),
    writeControlShards: (input: WriteControlShardsInput): Promise<WriteControlShardsOutput> => writeControlShards(deps, resilientStore, input),
  };
}
