// The sweep: plan -> a child per data source -> a child per (source, task, N, seed) cell ->
// analysis -> report. History stays bounded for any number of cells: cells run in a sliding
// window, and after a page of cells the workflow continues as new, carrying its cursors and
// counters (not per-cell data). The phases live in workflows/sweep/.
import { ApplicationFailure, ContinueAsNew, continueAsNew, isCancellation, patched, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { DatasetImportOutput } from '../contracts/datasets.js';
import { FAILURE_TYPES } from '../contracts/failures.js';
import { firstRoundGrid, judgeSourceOf, totalCells } from '../contracts/grid.js';
import type { SweepPlan } from '../contracts/plan.js';
import type { SweepResult, SweepState } from '../contracts/sweep.js';
import type { SourceSummary } from '../contracts/types.js';
import { summary } from './labels.js';
import { cpu, importer } from './proxies.js';
import { SWEEP_ID } from './search-attributes.js';
import { Semaphore } from './semaphore.js';
import { adaptiveRounds, installSteering, startAdaptive } from './sweep/adaptive.js';
import { runCells } from './sweep/cells.js';
import { mixedSummary, sourceData } from './sweep/data.js';
import { analyzeAndReport } from './sweep/finish.js';
import { completedNotice, failedNotice, notify } from './sweep/notify.js';
import { measureRecognizability } from './sweep/recognizability.js';
import { SweepRun } from './sweep/run.js';

/** The raw spec (from the CLI or `temporal workflow start --input-file`) is validated by the plan activity. */
export async function scalingSweepWorkflow(specInput: unknown, carried?: SweepState): Promise<SweepResult> {
  const run = new SweepRun(carried);
  run.installHandlers();
  installSteering(run);
  try {
    const result = await runSweep(run, specInput, carried);
    // Runs recorded before notices were sent completed without one.
    if (patched(NOTIFY_PATCH)) await notify(completedNotice(run, result));
    return result;
  } catch (err) {
    // Continue-as-new is not a failure; a cancelled sweep was stopped by a person who knows.
    if (err instanceof ContinueAsNew || isCancellation(err) || !patched(NOTIFY_PATCH)) throw err;
    await notify(failedNotice(run, run.plan?.spec.sweepId ?? sweepIdOf(specInput), err));
    throw err;
  }
}

const NOTIFY_PATCH = 'notify-sweep';

async function runSweep(run: SweepRun, specInput: unknown, carried: SweepState | undefined): Promise<SweepResult> {
  run.showProgress();
  const plan = run.plan ?? (await planSweep(run, specInput));
  const { spec } = plan;
  // An adaptive sweep: its first round's grid, plus the cells its decisions added so far.
  run.adaptive ??= startAdaptive(plan);
  run.stats.cellsTotal = totalCells(firstRoundGrid(spec)) + (run.adaptive?.cellsAdded ?? 0);
  if (!carried) run.cursors = Object.fromEntries(spec.sources.map((s) => [s.name, 0]));
  const cellWindow = new Semaphore(spec.maxConcurrentCells);

  run.setStage(run.sources.length === spec.sources.length ? 'cells' : 'data');
  const dataStarted = Date.now();
  const recognizing = spec.recognizability && judgeSourceOf(spec) && !run.recognizability;
  await Promise.all([
    ...(recognizing ? [measureRecognizability(run, plan).then((refs) => void (run.recognizability = refs))] : []),
    ...spec.sources.map(async (source) => {
      const summary: SourceSummary =
        run.summaryOf(source.name) ?? (source.kind === 'mixed' ? await mixedSummary(run, plan, source) : await sourceData(run, plan, source));
      // Each source's cells start as soon as its data is ready.
      await runCells(run, plan, summary, cellWindow);
    }),
  ]);
  run.addSeconds('data+cells', dataStarted);

  if (run.stats.cellsDone < run.stats.cellsTotal) {
    // A page of cells is done: start a fresh history, carrying only cursors and counters.
    await continueAsNew<typeof scalingSweepWorkflow>(specInput, run.carried(plan));
  }
  if (run.adaptive) await adaptiveRounds(run, plan, cellWindow, specInput);
  return analyzeAndReport(run, plan);
}

/** The sweep's dataset, then eval sets' datasets: two rounds; more means a plan that never completes. */
const MAX_IMPORT_ROUNDS = 3;

/** Validates the spec and pins what the sweep depends on (first run only; carried after that). */
async function planSweep(run: SweepRun, specInput: unknown): Promise<SweepPlan> {
  const t0 = Date.now();
  let plan = await cpu.planSweep.executeWithOptions(summary('plan · validate the spec, resolve datasets and eval sets, pin source keys'), [{ spec: specInput }]);
  // The lab's own datasets are imported first (the sweep's, then eval sets' matched to its classes).
  const imported: Record<string, DatasetImportOutput> = {};
  for (let round = 0; plan.imports?.length; round++) {
    if (round >= MAX_IMPORT_ROUNDS) throw ApplicationFailure.nonRetryable(`the plan still asks for imports after ${round} rounds`, FAILURE_TYPES.invalidInput);
    const requests = plan.imports;
    const outputs = await Promise.all(
      requests.map((request) => importer.importDataset.executeWithOptions(summary(`import dataset · ${request.role} · splits ${request.splits.join(', ')}`), [request])),
    );
    requests.forEach((request, i) => void (imported[request.role] = outputs[i]!));
    plan = await cpu.planSweep.executeWithOptions(summary(`plan · round ${round + 2}, with ${Object.keys(imported).length} imported datasets`), [{ spec: specInput, imported }]);
  }
  run.plan = plan;
  run.addSeconds('plan', t0);
  upsertSearchAttributes([{ key: SWEEP_ID, value: plan.spec.sweepId }]);
  upsertMemo({
    sweepId: plan.spec.sweepId,
    sources: plan.spec.sources.map((s) => s.name).join(','),
    sizes: plan.spec.sizes.join(','),
    seeds: plan.spec.seeds.join(','),
  });
  return plan;
}

/** The sweep's id for a notice when the plan failed: the spec's, if it has one, else the workflow id. */
function sweepIdOf(specInput: unknown): string {
  const id = typeof specInput === 'object' && specInput !== null ? (specInput as { sweepId?: unknown }).sweepId : undefined;
  return typeof id === 'string' ? id.slice(0, 200) : workflowInfo().workflowId;
}
