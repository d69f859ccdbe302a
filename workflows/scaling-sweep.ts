// The sweep: plan -> a child per data source -> a child per (source, N, seed) cell -> analysis -> report.
// History stays bounded for any number of cells: cells run in a sliding window, and after a page
// of cells the workflow continues as new, carrying its cursors and counters (not per-cell data).
import {
  condition,
  continueAsNew,
  executeChild,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SourceSummary } from '../contracts/types.js';
import type { MixedSourceSpec } from '../contracts/spec/sweep.js';
import { tasksForSource } from '../contracts/grid.js';
import type { SweepPlan } from '../contracts/plan.js';
import { cpu, train } from './proxies.js';
import { childId, dataSourceWorkflow } from './data-source.js';
import { describeSource } from '../contracts/describe.js';
import { emptyGenerationStats, type GenerationStats, type RecognizabilityRef, type SweepProgress, type SweepResult, type SweepState, type SweepStats } from '../contracts/sweep.js';
import { trainCellWorkflow } from './train-cell.js';
import { DATA_SOURCE, STAGE, SWEEP_ID } from './search-attributes.js';
import { Semaphore } from './semaphore.js';
import { pauseSignal, progressQuery, resumeSignal, sourceProgressSignal } from './signals.js';




/** Synthetic images a mixed source adds to N real ones (core/spec.ts syntheticCountFor; no zod here). */
function mixCount(source: MixedSourceSpec, realCount: number): number {
  return source.syntheticImages ?? Math.round((source.syntheticPerReal ?? 0) * realCount);
}



/** The raw spec (from the CLI or `temporal workflow start --input-file`) is validated by the plan activity. */
export async function scalingSweepWorkflow(specInput: unknown, carried?: SweepState): Promise<SweepResult> {
  const runStarted = Date.now();
  let stage = carried ? 'cells' : 'plan';
  const inFlight = { cells: 0, started: 0 };
  const imagesBySource = new Map<string, { done: number; total: number }>();
  const stats: SweepStats = carried ? { ...carried.stats } : {
    ...emptyGenerationStats(),
    cellsDone: 0,
    cellsCached: 0,
    cellsTotal: 0,
    trainStepsRun: 0,
    cellActivityRetries: 0,
    runs: 0,
  };
  stats.runs++;
  const cellsDoneAtRunStart = stats.cellsDone;
  let paused = carried?.paused ?? false;
  const startedAt = carried?.startedAt ?? runStarted;
  const stageSeconds: Record<string, number> = carried?.stageSeconds ?? {};

  // Pause and resume also reach the data-source children still generating, so no new shard starts.
  const forward = async (signal: typeof pauseSignal | typeof resumeSignal) => {
    const running = (plan?.spec.sources ?? []).filter((s) => !sources.some((done) => done.name === s.name));
    await Promise.all(
      running.map((s) => getExternalWorkflowHandle(childId(`source/${s.name}`)).signal(signal).catch(() => undefined)),
    );
  };
  setHandler(pauseSignal, async () => {
    paused = true;
    await forward(pauseSignal);
  });
  setHandler(resumeSignal, async () => {
    paused = false;
    await forward(resumeSignal);
  });
  setHandler(sourceProgressSignal, (update) => {
    imagesBySource.set(update.source, { done: update.imagesDone, total: update.imagesTotal });
  });
  setHandler(progressQuery, (): SweepProgress => {
    const elapsedSeconds = (Date.now() - startedAt) / 1000;
    const cellsThisRun = stats.cellsDone - cellsDoneAtRunStart;
    const remaining = stats.cellsTotal - stats.cellsDone;
    const images = [...imagesBySource.values()].reduce((a, b) => ({ done: a.done + b.done, total: a.total + b.total }), { done: 0, total: 0 });
    return {
      sweepId: plan?.spec.sweepId ?? '',
      stage,
      paused,
      sources: { done: sources.length, total: plan?.spec.sources.length ?? 0 },
      images,
      cells: { done: stats.cellsDone, running: inFlight.cells, total: stats.cellsTotal, cached: stats.cellsCached },
      stats,
      elapsedSeconds,
      etaSeconds: cellsThisRun > 0 && remaining > 0 ? ((Date.now() - runStarted) / 1000 / cellsThisRun) * remaining : null,
    };
  });
  const setStage = (next: string) => {
    stage = next;
    upsertSearchAttributes([{ key: STAGE, value: next }]);
  };
  const addSeconds = (name: string, since: number) => {
    stageSeconds[name] = (stageSeconds[name] ?? 0) + (Date.now() - since) / 1000;
  };

  let plan: SweepPlan | undefined = carried?.plan;
  const sources: SourceSummary[] = carried?.sources ?? [];
  if (!plan) {
    const t0 = Date.now();
    plan = await cpu.planSweep({ spec: specInput });
    addSeconds('plan', t0);
    upsertSearchAttributes([{ key: SWEEP_ID, value: plan.spec.sweepId }]);
    upsertMemo({
      sweepId: plan.spec.sweepId,
      sources: plan.spec.sources.map((s) => s.name).join(','),
      sizes: plan.spec.sizes.join(','),
      seeds: plan.spec.seeds.join(','),
    });
  }
  const { spec } = plan;
  const sizes = [...spec.sizes].sort((a, b) => a - b);
  // Cells of a source: per task (classifier first, so a classifier-only sweep indexes as before), N, seed.
  // A real-pairs source (and a mix over one) has no labels: CLIP cells only (core/source-tasks.ts).
  const specTasks = { tasks: spec.tasks ?? ['classifier'], sources: spec.sources };
  const tasksOf = (name: string) => tasksForSource(specTasks, spec.sources.find((s) => s.name === name)!);
  const cellsPerTask = sizes.length * spec.seeds.length;
  stats.cellsTotal = spec.sources.reduce((n, s) => n + tasksOf(s.name).length * cellsPerTask, 0);
  const cursors: Record<string, number> = carried?.cursors ?? Object.fromEntries(spec.sources.map((s) => [s.name, 0]));
  const cellWindow = new Semaphore(spec.maxConcurrentCells);
  const evalSets = plan.evalSets ?? spec.eval;
  const maxSize = Math.max(...spec.sizes);
  const mixes = spec.sources.filter((s): s is MixedSourceSpec => s.kind === 'mixed');
  const judgeSource = spec.recognizability ? spec.sources.find((s) => s.kind === 'real') : undefined;
  /** Images a source must hold: the largest N, more if a mix or the recognizability judge needs them. */
  const countFor = (name: string): number => {
    let count = maxSize;
    for (const mix of mixes) if (mix.synthetic === name) count = Math.max(count, mixCount(mix, maxSize));
    if (spec.recognizability && judgeSource?.name === name) count = Math.max(count, spec.recognizability.judgeImages);
    return count;
  };
  const summaryOf = (name: string) => sources.find((s) => s.name === name);
  let recognizability: RecognizabilityRef[] | undefined = carried?.recognizability;
  // Each cell costs the parent about 7 history events; a page of cellsPerRun keeps a run's
  // history far inside the 51,200-event limit whatever the sweep's size.
  const pageFull = () =>
    inFlight.started >= spec.cellsPerRun || workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 20_000;

  const runCells = async (summary: SourceSummary) => {
    const name = summary.name;
    const tasks = tasksOf(name);
    const cellsPerSource = tasks.length * cellsPerTask;
    // Cells start in order; a page ends only after all started cells finish, so [0, cursor) is done.
    const jobs: Promise<void>[] = [];
    for (let index = cursors[name]!; index < cellsPerSource; index++) {
      await cellWindow.acquire();
      await condition(() => !paused);
      if (pageFull()) {
        cellWindow.release();
        break;
      }
      const task = tasks[Math.floor(index / cellsPerTask)]!;
      const within = index % cellsPerTask;
      const size = sizes[Math.floor(within / spec.seeds.length)]!;
      const seed = spec.seeds[within % spec.seeds.length]!;
      const mixSpec = summary.kind === 'mixed' ? mixes.find((m) => m.name === name) : undefined;
      const mix = mixSpec ? [{ manifestUri: summaryOf(mixSpec.synthetic)!.manifestUri, count: mixCount(mixSpec, size) }] : undefined;
      inFlight.cells++;
      inFlight.started++;
      jobs.push(
        (async () => {
          try {
            const result = await executeChild(trainCellWorkflow, {
              workflowId: childId(task === 'clip' ? `cell/${name}/clip/n${size}/s${seed}` : `cell/${name}/n${size}/s${seed}`),
              args: [
                {
                  sweepId: spec.sweepId,
                  source: name,
                  manifestUri: summary.manifestUri,
                  size,
                  seed,
                  recipe: spec.training,
                  evalSets,
                  ...(mix ? { mix } : {}),
                  ...(task === 'clip' ? { task, clipRecipe: spec.clip, captionSeed: spec.generation.seed } : {}),
                },
              ],
              typedSearchAttributes: [
                { key: SWEEP_ID, value: spec.sweepId },
                { key: DATA_SOURCE, value: name },
                { key: STAGE, value: 'train' },
              ],
              parentClosePolicy: ParentClosePolicy.TERMINATE,
            });
            stats.cellsDone++;
            stats.trainStepsRun += result.stepsRun;
            stats.cellActivityRetries += result.activityRetries;
            if (result.cached) stats.cellsCached++;
          } finally {
            inFlight.cells--;
            cellWindow.release();
          }
        })(),
      );
    }
    await Promise.all(jobs);
    const done = jobs.length;
    cursors[name] = cursors[name]! + done;
  };

  setStage(sources.length === spec.sources.length ? 'cells' : 'data');
  const dataStarted = Date.now();
  // The paper's recognizability analysis: a judge trained on real images labels each synthetic
  // source's images. Runs beside the cells, once (its results are carried across continue-as-new).
  const measureRecognizability = async () => {
    const options = spec.recognizability!;
    await condition(() => summaryOf(judgeSource!.name) !== undefined);
    const realSummary = summaryOf(judgeSource!.name)!;
    const judge = await train.trainClassifier({
      manifestUri: realSummary.manifestUri,
      size: Math.min(options.judgeImages, realSummary.images),
      seed: 0,
      recipe: { ...spec.training, ...options.judge },
    });
    const judgeEval = await train.evaluateClassifier({ modelUri: judge.modelUri, evalSet: 'judge-test', split: 'test' });
    const results = await Promise.all(
      spec.sources
        .filter((s) => s.kind === 'synthetic')
        .map(async (s) => {
          await condition(() => summaryOf(s.name) !== undefined);
          const out = await train.measureRecognizability({
            judgeModelUri: judge.modelUri,
            judgeTestAccuracy: judgeEval.accuracy,
            manifestUri: summaryOf(s.name)!.manifestUri,
            count: options.images ?? maxSize,
          });
          return { source: s.name, resultUri: out.resultUri, overall: out.overall };
        }),
    );
    recognizability = results;
  };

  await Promise.all([
    ...(spec.recognizability && judgeSource && !recognizability ? [measureRecognizability()] : []),
    ...spec.sources.map(async (source) => {
      let summary = sources.find((s) => s.name === source.name);
      if (!summary && source.kind === 'mixed') {
        // No data of its own: N real images of one source plus N_s synthetic ones of another.
        await condition(() => summaryOf(source.real) !== undefined && summaryOf(source.synthetic) !== undefined);
        summary = {
          name: source.name,
          kind: 'mixed',
          description: describeSource(source),
          manifestUri: summaryOf(source.real)!.manifestUri,
          images: maxSize + mixCount(source, maxSize),
          mix: {
            real: source.real,
            synthetic: source.synthetic,
            ...(source.syntheticPerReal !== undefined ? { syntheticPerReal: source.syntheticPerReal } : {}),
            ...(source.syntheticImages !== undefined ? { syntheticImages: source.syntheticImages } : {}),
          },
        };
        sources.push(summary);
      }
      if (!summary && source.kind !== 'mixed') {
        // Prompts that are a real-pairs source's own captions wait for that source's import.
        const captionsFrom = source.kind === 'synthetic' && source.prompts.strategy === 'real-captions' ? source.prompts.source : undefined;
        if (captionsFrom) await condition(() => summaryOf(captionsFrom) !== undefined);
        const t0 = Date.now();
        const out = await executeChild(dataSourceWorkflow, {
          workflowId: childId(`source/${source.name}`),
          args: [
            {
              sweepId: spec.sweepId,
              source,
              count: countFor(source.name),
              shardSize: spec.generation.shardSize,
              generationSeed: spec.generation.seed,
              maxConcurrentShards: spec.generation.maxConcurrentShards,
              failureBudget: spec.generation.failureBudget,
              classes: plan.classes,
              datasetFingerprint: plan.datasetFingerprint,
              sourceKey: plan.sourceKeys[source.name]!,
              sourceIndex: spec.sources.indexOf(source),
              ...(captionsFrom ? { captionsManifestUri: summaryOf(captionsFrom)!.manifestUri } : {}),
            },
          ],
          typedSearchAttributes: [
            { key: SWEEP_ID, value: spec.sweepId },
            { key: DATA_SOURCE, value: source.name },
            { key: STAGE, value: 'data' },
          ],
          parentClosePolicy: ParentClosePolicy.TERMINATE,
        });
        addSeconds(`data:${source.name}`, t0);
        summary = out.summary;
        sources.push(summary);
        for (const key of Object.keys(out.stats) as (keyof GenerationStats)[]) stats[key] += out.stats[key];
      }
      // Each source's cells start as soon as its data is ready.
      await runCells(summary!);
    }),
  ]);
  addSeconds('data+cells', dataStarted);

  if (stats.cellsDone < stats.cellsTotal) {
    // A page of cells is done: start a fresh history, carrying only cursors and counters.
    await continueAsNew<typeof scalingSweepWorkflow>(specInput, {
      plan,
      sources,
      cursors,
      stats,
      startedAt,
      stageSeconds,
      paused,
      ...(recognizability ? { recognizability } : {}),
    });
  }

  // Children finish in any order; order sources as in the spec so the analysis input is stable.
  const order = spec.sources.map((s) => s.name);
  sources.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  setStage('analyze');
  let t0 = Date.now();
  const analysis = await cpu.analyzeSweepResults({
    sweepId: spec.sweepId,
    spec,
    sources,
    ...(plan.evalSets ? { evalSets: plan.evalSets } : {}),
    ...(recognizability ? { recognizability } : {}),
  });
  addSeconds('analyze', t0);

  setStage('report');
  t0 = Date.now();
  const report = await cpu.renderSweepReport({
    sweepId: spec.sweepId,
    workflowId: workflowInfo().workflowId,
    analysisUri: analysis.analysisUri,
    spec,
    stageSeconds,
    stats,
  });
  addSeconds('report', t0);
  setStage('done');
  return {
    sweepId: spec.sweepId,
    reportUri: report.reportJsonUri,
    reportMarkdownUri: report.reportMarkdownUri,
    plotUri: report.plotUri,
    ...(report.reportHtmlUri ? { reportHtmlUri: report.reportHtmlUri } : {}),
    ...(report.plotPngUri ? { plotPngUri: report.plotPngUri } : {}),
    ...(report.sampleSheetUris ? { sampleSheetUris: report.sampleSheetUris } : {}),
    cells: stats.cellsTotal,
    cachedCells: stats.cellsCached,
    stats,
    stageSeconds,
  };
}
