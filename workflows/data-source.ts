// One data source: real images sharded as they are, image-caption pairs imported, or prompts ->
// generator -> shards for the largest N. One handler per source kind (workflows/sources).
import { defineQuery, patched, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { sourceKind } from '../contracts/sources.js';
import { emptyGenerationStats, type DataSourceInput, type DataSourceOutput, type DataSourceProgress, type DataSourceSpec } from '../contracts/sweep.js';
import { STAGE } from './search-attributes.js';
import { pauseSignal, resumeSignal } from './signals.js';
import { createSourceRun, type SourceHandler } from './sources/context.js';
import { realPairsSource } from './sources/real-pairs.js';
import { realSource } from './sources/real.js';
import { syntheticSource } from './sources/synthetic.js';
import { controlSource } from './sources/control.js';

export const dataSourceProgressQuery = defineQuery<DataSourceProgress>('progress');

/** The one place to add a source kind with data of its own (a mixed source has none: the sweep builds it). */
const SOURCE_HANDLERS: { readonly [K in DataSourceSpec['kind']]: SourceHandler<Extract<DataSourceSpec, { kind: K }>> } = {
  real: realSource,
  'real-pairs': realPairsSource,
  synthetic: syntheticSource,
  control: controlSource,
};

export async function dataSourceWorkflow(input: DataSourceInput): Promise<DataSourceOutput> {
  // Items may fail for good (up to the budget): generated sources make that many extra so N remain.
  const target = sourceKind(input.source).imagesToProduce(input.count, input.failureBudget);
  const progress: DataSourceProgress = {
    stage: 'starting',
    paused: false,
    shardsDone: 0,
    shardsTotal: Math.ceil(target / input.shardSize),
    imagesDone: 0,
    stats: emptyGenerationStats(),
  };
  setHandler(dataSourceProgressQuery, () => progress);
  setHandler(pauseSignal, () => void (progress.paused = true));
  setHandler(resumeSignal, () => void (progress.paused = false));
  const handler = SOURCE_HANDLERS[input.source.kind] as SourceHandler<DataSourceSpec>;
  const output = await handler(createSourceRun(input, target, progress));
  // A finished source reads `done` in the UI's SynthscaleStage filter (runs recorded before stayed at their last stage).
  if (patched('source-stage-done')) upsertSearchAttributes([{ key: STAGE, value: 'done' }]);
  setCurrentDetails(`**done** \`${input.source.name}\`: ${output.summary.images} images`);
  return output;
}

/** Child workflow ids are `${parent}/${part}` so a sweep's children group together in the UI. */
export function childId(part: string): string {
  return `${workflowInfo().workflowId}/${part}`;
}
