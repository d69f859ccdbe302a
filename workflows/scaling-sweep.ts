// The sweep: plan -> one child per data source -> one child per (source, N, seed) cell -> analysis -> report.
import {
  defineQuery,
  executeChild,
  ParentClosePolicy,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CellMetrics, SourceSummary } from '../core/types.js';
import { cpu } from './proxies.js';
import { childId, dataSourceWorkflow } from './data-source.js';
import { trainCellWorkflow } from './train-cell.js';
import { DATA_SOURCE, STAGE, SWEEP_ID } from './search-attributes.js';
import { Semaphore } from './semaphore.js';

export interface SweepProgress {
  sweepId: string;
  stage: string;
  sources: { done: number; total: number };
  cells: { done: number; running: number; total: number; cached: number };
  /** Seconds since the sweep started, and a naive ETA from the mean finished-cell rate. */
  elapsedSeconds: number;
  etaSeconds: number | null;
}

export interface SweepResult {
  sweepId: string;
  reportUri: string;
  reportMarkdownUri: string;
  plotUri: string;
  cells: number;
  cachedCells: number;
  stageSeconds: Record<string, number>;
}

export const sweepProgressQuery = defineQuery<SweepProgress>('progress');

/** Input is the raw spec (JSON from the CLI or `temporal workflow start --input-file`); the plan activity validates it. */
export async function scalingSweepWorkflow(specInput: unknown): Promise<SweepResult> {
  const started = Date.now();
  const stageSeconds: Record<string, number> = {};
  const progress: SweepProgress = {
    sweepId: '',
    stage: 'plan',
    sources: { done: 0, total: 0 },
    cells: { done: 0, running: 0, total: 0, cached: 0 },
    elapsedSeconds: 0,
    etaSeconds: null,
  };
  setHandler(sweepProgressQuery, () => {
    const elapsedSeconds = (Date.now() - started) / 1000;
    const { done, total } = progress.cells;
    const etaSeconds = done > 0 && done < total ? (elapsedSeconds / done) * (total - done) : null;
    return { ...progress, elapsedSeconds, etaSeconds };
  });
  const timed = async <T>(stage: string, work: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await work();
    } finally {
      stageSeconds[stage] = (stageSeconds[stage] ?? 0) + (Date.now() - t0) / 1000;
    }
  };
  const setStage = (stage: string) => {
    progress.stage = stage;
    upsertSearchAttributes([{ key: STAGE, value: stage }]);
  };

  const plan = await timed('plan', () => cpu.planSweep({ spec: specInput }));
  const { spec } = plan;
  progress.sweepId = spec.sweepId;
  upsertSearchAttributes([
    { key: SWEEP_ID, value: spec.sweepId },
    { key: STAGE, value: 'data' },
  ]);
  upsertMemo({ sources: spec.sources.map((s) => s.name).join(','), sizes: spec.sizes.join(','), seeds: spec.seeds.join(',') });
  setStage('data');

  const maxN = Math.max(...spec.sizes);
  const sizes = [...spec.sizes].sort((a, b) => a - b);
  progress.sources.total = spec.sources.length;
  progress.cells.total = spec.sources.length * sizes.length * spec.seeds.length;
  const cellWindow = new Semaphore(spec.maxConcurrentCells);
  const sourceSummaries: SourceSummary[] = [];
  const cells: CellMetrics[] = [];
  const t0 = Date.now();

  // Each source's cells start as soon as that source's data is ready.
  await Promise.all(
    spec.sources.map(async (source) => {
      const summary = await executeChild(dataSourceWorkflow, {
        workflowId: childId(`source/${source.name}`),
        args: [
          {
            sweepId: spec.sweepId,
            source,
            count: maxN,
            shardSize: spec.generation.shardSize,
            generationSeed: spec.generation.seed,
            maxConcurrentShards: spec.generation.maxConcurrentShards,
            classes: plan.classes,
            datasetFingerprint: plan.datasetFingerprint,
            sourceKey: plan.sourceKeys[source.name]!,
          },
        ],
        typedSearchAttributes: [
          { key: SWEEP_ID, value: spec.sweepId },
          { key: DATA_SOURCE, value: source.name },
          { key: STAGE, value: 'data' },
        ],
        parentClosePolicy: ParentClosePolicy.TERMINATE,
      });
      stageSeconds[`data:${source.name}`] = (Date.now() - t0) / 1000;
      sourceSummaries.push(summary);
      progress.sources.done++;
      if (summary.images < maxN) {
        throw new Error(`source ${source.name} produced ${summary.images} of ${maxN} images (failed items exceed the data)`);
      }
      await Promise.all(
        sizes.flatMap((size) =>
          spec.seeds.map((seed) =>
            cellWindow.run(async () => {
              progress.cells.running++;
              const result = await executeChild(trainCellWorkflow, {
                workflowId: childId(`cell/${source.name}/n${size}/s${seed}`),
                args: [
                  {
                    sweepId: spec.sweepId,
                    source: source.name,
                    manifestUri: summary.manifestUri,
                    size,
                    seed,
                    recipe: spec.training,
                    evalSets: spec.eval,
                  },
                ],
                typedSearchAttributes: [
                  { key: SWEEP_ID, value: spec.sweepId },
                  { key: DATA_SOURCE, value: source.name },
                  { key: STAGE, value: 'train' },
                ],
                parentClosePolicy: ParentClosePolicy.TERMINATE,
              });
              progress.cells.running--;
              progress.cells.done++;
              if (result.cached) progress.cells.cached++;
              cells.push(...result.metrics);
            }),
          ),
        ),
      );
    }),
  );
  stageSeconds['data+cells'] = (Date.now() - t0) / 1000;

  setStage('analyze');
  // Children finish in any order; sort so the analysis input (and its hash) is stable.
  const order = spec.sources.map((s) => s.name);
  sourceSummaries.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  cells.sort((a, b) => order.indexOf(a.source) - order.indexOf(b.source) || a.size - b.size || a.seed - b.seed || (a.evalSet < b.evalSet ? -1 : 1));
  const analysis = await timed('analyze', () => cpu.analyzeSweepResults({ sweepId: spec.sweepId, cells, sources: sourceSummaries }));

  setStage('report');
  const report = await timed('report', () =>
    cpu.renderSweepReport({
      sweepId: spec.sweepId,
      workflowId: workflowInfo().workflowId,
      analysisUri: analysis.analysisUri,
      spec,
      stageSeconds,
      cachedCells: progress.cells.cached,
      totalCells: progress.cells.total,
    }),
  );
  setStage('done');
  return {
    sweepId: spec.sweepId,
    reportUri: report.reportJsonUri,
    reportMarkdownUri: report.reportMarkdownUri,
    plotUri: report.plotUri,
    cells: progress.cells.total,
    cachedCells: progress.cells.cached,
    stageSeconds,
  };
}
