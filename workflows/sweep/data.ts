// The data phase: each source's data ready as a summary: a data-source child for a source with
// data of its own, or, for a mixed source, a summary over its real and synthetic parts.
import { condition, executeChild, ParentClosePolicy } from '@temporalio/workflow';
import { imagesNeeded, largestSize, mixCount, seedsRedrawData } from '../../contracts/grid.js';
import { sourceWorkflowPart } from '../../contracts/keys.js';
import type { SweepPlan } from '../../contracts/plan.js';
import { describeSource } from '../../contracts/sources.js';
import type { MixedSourceSpec } from '../../contracts/spec/sweep.js';
import type { DataSourceSpec, GenerationStats } from '../../contracts/sweep.js';
import type { SourceSummary } from '../../contracts/types.js';
import { childId, dataSourceWorkflow } from '../data-source.js';
import { sourceDetails, sourceMemo, sourceSummary } from '../labels.js';
import { DATA_SOURCE, STAGE, SWEEP_ID } from '../search-attributes.js';
import type { SweepRun } from './run.js';

/** No data of its own: N real images of one source plus N_s synthetic ones of another. */
export async function mixedSummary(run: SweepRun, plan: SweepPlan, source: MixedSourceSpec): Promise<SourceSummary> {
  await condition(() => run.summaryOf(source.real) !== undefined && run.summaryOf(source.synthetic) !== undefined);
  const maxSize = largestSize(plan.spec);
  const summary: SourceSummary = {
    name: source.name,
    kind: 'mixed',
    description: describeSource(source),
    manifestUri: run.summaryOf(source.real)!.manifestUri,
    images: maxSize + mixCount(source, maxSize),
    mix: {
      real: source.real,
      synthetic: source.synthetic,
      ...(source.syntheticPerReal !== undefined ? { syntheticPerReal: source.syntheticPerReal } : {}),
      ...(source.syntheticImages !== undefined ? { syntheticImages: source.syntheticImages } : {}),
    },
  };
  run.sources.push(summary);
  return summary;
}

/** The source's data-source child workflow, run to its summary (its generation counters join the sweep's). */
export async function sourceData(run: SweepRun, plan: SweepPlan, source: DataSourceSpec): Promise<SourceSummary> {
  const { spec } = plan;
  // Prompts that are a real-pairs source's own captions wait for that source's import.
  const captionsFrom = source.kind === 'synthetic' && source.prompts.strategy === 'real-captions' ? source.prompts.source : undefined;
  if (captionsFrom) await condition(() => run.summaryOf(captionsFrom) !== undefined);
  const t0 = Date.now();
  const count = imagesNeeded(spec, source.name);
  const out = await executeChild(dataSourceWorkflow, {
    workflowId: childId(sourceWorkflowPart(source.name)),
    staticSummary: sourceSummary(source),
    staticDetails: sourceDetails(source, spec.sweepId, count),
    memo: sourceMemo(source, spec.sweepId),
    args: [
      {
        sweepId: spec.sweepId,
        source,
        count,
        shardSize: spec.generation.shardSize,
        generationSeed: spec.generation.seed,
        maxConcurrentShards: spec.generation.maxConcurrentShards,
        failureBudget: spec.generation.failureBudget,
        classes: plan.classes,
        ...(plan.dataset?.wnids ? { wnids: plan.dataset.wnids } : {}),
        datasetFingerprint: plan.datasetFingerprint,
        ...(plan.sourceKeys[source.name] !== undefined ? { sourceKey: plan.sourceKeys[source.name]! } : {}),
        sourceIndex: spec.sources.indexOf(source),
        ...(seedsRedrawData(spec) ? { seeds: spec.seeds } : {}),
        ...(captionsFrom ? { captionsManifestUri: run.summaryOf(captionsFrom)!.manifestUri } : {}),
      },
    ],
    typedSearchAttributes: [
      { key: SWEEP_ID, value: spec.sweepId },
      { key: DATA_SOURCE, value: source.name },
      { key: STAGE, value: 'data' },
    ],
    parentClosePolicy: ParentClosePolicy.TERMINATE,
  });
  run.addSeconds(`data:${source.name}`, t0);
  run.sources.push(out.summary);
  for (const key of Object.keys(out.stats) as (keyof GenerationStats)[]) run.stats[key] += out.stats[key];
  return out.summary;
}
