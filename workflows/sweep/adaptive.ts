// The adaptive phase (spec.adaptive): after the first round's grid, rounds of decide -> run the
// chosen cells, until every target interval is as narrow as wanted, the budget is spent or the
// envelope has no cell left. Each decision is an activity (a deterministic function of the stored
// results, recorded in history, so replay is safe); the workflow carries only the round count, the
// decisions' URIs and the latest intervals. Targets and budget can be changed while it runs
// (the `steer` update).
import { condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { adaptiveSteerIssues, type AdaptiveRunState, type AdaptiveSteer, type CellRef } from '../../contracts/adaptive-run.js';
import type { SweepPlan } from '../../contracts/plan.js';
import type { SourceSummary } from '../../contracts/types.js';
import { summary } from '../labels.js';
import { cpu } from '../proxies.js';
import type { Semaphore } from '../semaphore.js';
import { steerUpdate } from '../signals.js';
import { runCellOf } from './cells.js';
import type { SweepRun } from './run.js';

/** A round's history is about 7 events per cell plus the decision; start a fresh run well before the limit. */
const HISTORY_EVENTS_BEFORE_NEW_RUN = 10_000;

/** The adaptive state a sweep starts with: round 0 (the first grid) and the spec's targets and budget. */
export function startAdaptive(plan: SweepPlan): AdaptiveRunState | undefined {
  const adaptive = plan.spec.adaptive;
  return adaptive ? { round: 0, decisionUris: [], targets: adaptive.targets, budget: adaptive.budget, cellsAdded: 0, intervals: [], stop: null } : undefined;
}

/** `synthscale sweep steer`: new targets or budget, taken by the next decision. Rejected once the loop stopped. */
export function installSteering(run: SweepRun): void {
  setHandler(
    steerUpdate,
    (steer: AdaptiveSteer) => {
      const state = run.adaptive!;
      if (steer.targets) state.targets = steer.targets;
      if (steer.budget) state.budget = steer.budget;
      run.showProgress();
      return { round: state.round, targets: state.targets, budget: state.budget };
    },
    {
      validator: (steer: AdaptiveSteer) => {
        const state = run.adaptive;
        if (!state || !run.plan) throw new Error('this sweep has no adaptive block (spec.adaptive): it runs its grid as given, there is nothing to steer');
        if (state.stop) throw new Error(`the adaptive loop has stopped (${state.stop.reason}: ${state.stop.detail}); start a new sweep with the new targets`);
        const issues = adaptiveSteerIssues(run.plan.spec, steer);
        if (issues.length > 0) throw new Error(issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      },
    },
  );
}

/** Rounds until the loop stops; continues as new between rounds when the history grows long. */
export async function adaptiveRounds(run: SweepRun, plan: SweepPlan, cellWindow: Semaphore, specInput: unknown): Promise<void> {
  const state = run.adaptive!;
  const { spec } = plan;
  run.setStage('adapt');
  while (!state.stop) {
    await condition(() => !run.paused);
    const round = state.round + 1;
    const decision = await cpu.decideNextCells.executeWithOptions(
      summary(`adapt · round ${round} · ${state.targets.length} targets · ${run.stats.cellsDone} cells so far`),
      [
        {
          sweepId: spec.sweepId,
          spec,
          sources: orderedSources(run.sources, plan),
          ...(plan.evalSets ? { evalSets: plan.evalSets } : {}),
          decisionUris: state.decisionUris,
          round,
          targets: state.targets,
          budget: state.budget,
          hoursSpent: (Date.now() - run.startedAt) / 3_600_000,
        },
      ],
    );
    state.round = round;
    state.decisionUris.push(decision.decisionUri);
    state.intervals = decision.intervals;
    state.stop = decision.stop;
    run.showProgress();
    if (decision.stop) break;
    run.stats.cellsTotal += decision.cells.length;
    state.cellsAdded += decision.cells.length;
    await runRound(run, plan, decision.cells, cellWindow);
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > HISTORY_EVENTS_BEFORE_NEW_RUN) {
      await continueAsNew(specInput, run.carried(plan));
    }
  }
}

/** The round's cells in the sweep's window (all finished before the next decision reads them). */
async function runRound(run: SweepRun, plan: SweepPlan, cells: CellRef[], cellWindow: Semaphore): Promise<void> {
  await Promise.all(
    cells.map(async (ref) => {
      await cellWindow.acquire();
      try {
        await condition(() => !run.paused);
        run.inFlight.cells++;
        run.showProgress();
        await runCellOf(run, plan, { source: ref.source, task: 'classifier', size: ref.size, seed: ref.seed, index: -1 });
      } finally {
        run.inFlight.cells--;
        cellWindow.release();
        run.showProgress();
      }
    }),
  );
}

/** Sources in spec order, so the decision's input (and its stored key) does not depend on which finished first. */
export function orderedSources(sources: SourceSummary[], plan: SweepPlan): SourceSummary[] {
  const order = plan.spec.sources.map((s) => s.name);
  return [...sources].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}
