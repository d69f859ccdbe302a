// What every source-kind handler of the data-source workflow shares: its input, the progress the
// query reports, stage changes (search attribute + progress), and progress signals to the sweep.
import { getExternalWorkflowHandle, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { DataSourceInput, DataSourceOutput, DataSourceProgress, DataSourceSpec, GenerationStats } from '../../contracts/sweep.js';
import { STAGE } from '../search-attributes.js';
import { sourceProgressSignal } from '../signals.js';

export interface SourceRun<S extends DataSourceSpec = DataSourceSpec> {
  input: DataSourceInput & { source: S };
  source: S;
  /** Images this source produces (more than input.count for generated sources: the failure budget). */
  target: number;
  shardsTotal: number;
  progress: DataSourceProgress;
  stats: GenerationStats;
  /** Workflow time when the source started (for its generation seconds). */
  started: number;
  setStage(stage: string): void;
  /** Tells the parent sweep how many images are done (its progress query sums them). */
  reportProgress(): Promise<void>;
}

/** A source kind's part of the data-source workflow. */
export type SourceHandler<S extends DataSourceSpec> = (run: SourceRun<S>) => Promise<DataSourceOutput>;

export function createSourceRun<S extends DataSourceSpec>(
  input: DataSourceInput & { source: S },
  target: number,
  progress: DataSourceProgress,
): SourceRun<S> {
  const parent = workflowInfo().parent;
  // The UI's current details: the source's stage and shards, live while a worker answers.
  const details = () =>
    setCurrentDetails(`**${progress.stage}** \`${input.source.name}\` · ${progress.shardsDone} of ${progress.shardsTotal} shards · ${progress.imagesDone} of ${target} images`);
  return {
    input,
    source: input.source,
    target,
    shardsTotal: progress.shardsTotal,
    progress,
    stats: progress.stats,
    started: Date.now(),
    setStage(stage) {
      progress.stage = stage;
      upsertSearchAttributes([{ key: STAGE, value: stage }]);
      details();
    },
    async reportProgress() {
      details();
      if (!parent) return;
      await getExternalWorkflowHandle(parent.workflowId).signal(sourceProgressSignal, {
        source: input.source.name,
        imagesDone: progress.imagesDone,
        imagesTotal: target,
      });
    },
  };
}
