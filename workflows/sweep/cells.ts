// The cells phase: each source's cells as child workflows in a sliding window shared by all
// sources, a page at a time (the sweep continues as new between pages).
import { condition, executeChild, ParentClosePolicy, workflowInfo } from '@temporalio/workflow';
import { cellAt, cellCountOf, cellData, firstRoundGrid, sortedSizes, type Cell } from '../../contracts/grid.js';
import { cellWorkflowPart } from '../../contracts/keys.js';
import type { SweepPlan } from '../../contracts/plan.js';
import type { CellWorkflowInput } from '../../contracts/sweep.js';
import { TASKS } from '../../contracts/tasks.js';
import type { SourceSummary } from '../../contracts/types.js';
import { CELL_TASKS } from '../cell-tasks.js';
import { childId } from '../data-source.js';
import { cellDetails, cellMemo, cellSummary } from '../labels.js';
import { DATA_SOURCE, SIZE, STAGE, SWEEP_ID } from '../search-attributes.js';
import type { Semaphore } from '../semaphore.js';
import { trainCellWorkflow } from '../train-cell.js';
import type { SweepRun } from './run.js';

/**
 * Each cell costs the parent about 7 history events; a page of cellsPerRun keeps a run's history
 * far inside the 51,200-event limit whatever the sweep's size.
 */
function pageFull(run: SweepRun, plan: SweepPlan): boolean {
  return run.inFlight.started >= plan.spec.cellsPerRun || workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 20_000;
}

/** Runs the source's cells from its cursor until they are done or the page is full; advances the cursor. */
export async function runCells(run: SweepRun, plan: SweepPlan, summary: SourceSummary, cellWindow: Semaphore): Promise<void> {
  // An adaptive sweep's first round is a sub-grid of its sizes and seeds; later rounds are decided (./adaptive.ts).
  const grid = firstRoundGrid(plan.spec);
  const name = summary.name;
  const sizes = sortedSizes(grid);
  const cellsPerSource = cellCountOf(grid, name);
  // Cells start in order; a page ends only after all started cells finish, so [0, cursor) is done.
  const jobs: Promise<void>[] = [];
  for (let index = run.cursors[name]!; index < cellsPerSource; index++) {
    await cellWindow.acquire();
    await condition(() => !run.paused);
    if (pageFull(run, plan)) {
      cellWindow.release();
      break;
    }
    run.inFlight.cells++;
    run.inFlight.started++;
    run.showProgress();
    const cell = cellAt(grid, name, index, sizes);
    jobs.push(
      (async () => {
        try {
          await runCellOf(run, plan, cell);
        } finally {
          run.inFlight.cells--;
          cellWindow.release();
          run.showProgress();
        }
      })(),
    );
  }
  await Promise.all(jobs);
  run.cursors[name] = run.cursors[name]! + jobs.length;
}

/** One cell as a child workflow, on its seed's data (whichever round chose it). */
export async function runCellOf(run: SweepRun, plan: SweepPlan, cell: Cell): Promise<void> {
  const { spec } = plan;
  // Which images: the source's manifest for the cell's seed, from the seed's window on (contracts/grid.ts).
  const data = cellData(spec, (name) => run.summaryOf(name), cell);
  const input: CellWorkflowInput = {
    sweepId: spec.sweepId,
    source: cell.source,
    manifestUri: data.manifestUri,
    size: cell.size,
    ...(data.offset ? { offset: data.offset } : {}),
    seed: cell.seed,
    recipe: spec.training,
    // Plans from before they listed eval sets: the spec's entries as they were.
    evalSets: plan.evalSets ?? spec.eval.map(({ name, split }) => ({ name, split })),
    ...(data.mix ? { mix: data.mix } : {}),
    ...CELL_TASKS[cell.task].cellInput(plan),
  };
  const result = await executeChild(trainCellWorkflow, {
    workflowId: childId(cellWorkflowPart(cell)),
    args: [input],
    // What the UI shows of the child without decoding its input: label, details, memo, N.
    staticSummary: cellSummary(cell),
    staticDetails: cellDetails(input),
    memo: cellMemo(input),
    typedSearchAttributes: [
      { key: SWEEP_ID, value: spec.sweepId },
      { key: DATA_SOURCE, value: cell.source },
      { key: STAGE, value: 'train' },
      { key: SIZE, value: cell.size },
    ],
    parentClosePolicy: ParentClosePolicy.TERMINATE,
  });
  run.cellFinished(TASKS[cell.task].curveName(cell.source), cell.size, result);
}
