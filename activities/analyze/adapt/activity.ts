// decideNextCells (cpu worker): one round of an adaptive sweep's loop. Reads every finished cell's
// results from the store (as the analysis does), measures each target's interval, and picks the
// next cells (./decide.ts), or says why the loop stops. The decision is stored under a key of
// everything it was taken on, so a retried activity returns the same decision.
import { heartbeat } from '@temporalio/activity';
import type { ActivityDeps } from '../../../core/activity-deps.js';
import { inputHash } from '../../../core/hash.js';
import { keySegment } from '../../../core/keys.js';
import { getJson, hasValidObject, putJson } from '../../../core/storage.js';
import { DEFAULT_ANALYSIS_SETTINGS } from '../../../contracts/analysis.js';
import type { CellRef, DecideInput, DecideOutput, DecisionDocument } from '../../../contracts/adaptive-run.js';
import { resolveTargets } from '../../../contracts/adaptive.js';
import { cellsOf, firstRoundGrid } from '../../../contracts/grid.js';
import { collectCells } from '../activity.js';
import { decideNext } from './decide.js';
import { readDecisions } from './decisions.js';

// adapt-1: intervals of ./intervals.ts, the variance model and greedy choice of ./decide.ts.
export const ADAPT_CODE_VERSION = 'adapt-1';

export function createAdaptActivities(deps: ActivityDeps) {
  return {
    async decideNextCells(input: DecideInput): Promise<DecideOutput> {
      const { spec } = input;
      if (!spec.adaptive) throw new Error(`sweep ${input.sweepId} has no adaptive block (spec.adaptive)`);
      const earlier = await readDecisions(deps, input.decisionUris);
      const added = earlier.flatMap((d) => d.decision.cells);
      heartbeat({ phase: 'reading cells', round: input.round });
      const cells = await collectCells(deps, spec, input.sources, input.evalSets, added);
      const firstRound: CellRef[] = spec.sources.flatMap((s) =>
        cellsOf(firstRoundGrid(spec), s.name)
          .filter((c) => c.task === 'classifier')
          .map((c) => ({ source: c.source, size: c.size, seed: c.seed })),
      );
      const done = [...firstRound, ...added];
      const settings = { ...DEFAULT_ANALYSIS_SETTINGS, ...spec.analysis };
      const what = { round: input.round, targets: input.targets, budget: input.budget, cells, done, hoursSpent: input.hoursSpent, settings };
      const key = `adaptive/${keySegment(input.sweepId, 'sweepId')}/round-${input.round}-${inputHash('adapt', ADAPT_CODE_VERSION, what)}.json`;
      const cached = await hasValidObject(deps.store, key);
      const doc = cached
        ? await getJson<DecisionDocument>(deps.store, key)
        : {
            sweepId: input.sweepId,
            round: input.round,
            targets: input.targets,
            budget: input.budget,
            decision: decideNext({
              adaptive: { ...spec.adaptive, budget: input.budget },
              targets: resolveTargets(spec, { targets: input.targets }),
              envelope: { sizes: spec.sizes, seeds: spec.seeds },
              cells,
              done,
              spent: { cells: done.length, images: done.reduce((sum, c) => sum + c.size, 0), hours: input.hoursSpent },
              round: input.round,
              bootstrap: { draws: settings.bootstrapDraws, seed: settings.bootstrapSeed },
              gates: { minSizes: settings.minSizes, minDecades: settings.minDecades },
            }),
          };
      if (!cached) await putJson(deps.store, key, doc satisfies DecisionDocument);
      const { decision } = doc;
      return { decisionUri: deps.store.uri(key), cells: decision.cells, intervals: decision.intervals, stop: decision.stop, cached };
    },
  };
}
