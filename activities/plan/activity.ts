// First stage of a sweep: validate the spec where the workflow cannot (no I/O, no zod in
// workflow code) and pin what the rest of the sweep depends on: the datasets (imported first when
// they are the lab's own images: see ./datasets.ts), the source keys and the eval sets.
import { FAILURE_TYPES } from '../../contracts/failures.js';
import { evalSetsFor } from '../../contracts/eval-sets.js';
import { sourceKeysFor, type PlanSweepInput, type SweepPlan } from '../../contracts/plan.js';
import { validateSpec, type SweepSpec } from '../../contracts/spec/sweep.js';
import type { DatasetImportInput } from '../../contracts/datasets.js';
import type { ActivityDeps } from '../../core/activity-deps.js';
import { nonRetryable } from '../../core/non-retryable.js';
import { checkSizesFit, resolveEvalDatasets, resolveMainDataset } from './datasets.js';
import { checkRealPairsSources } from './real-pairs.js';

export { SYNTHETIC_SHARDS_CODE_VERSION, sourceKeyFor } from '../../contracts/plan.js';
export { evalSetsFor } from '../../contracts/eval-sets.js';

/** A plan that cannot be completed before these imports: the workflow runs them and plans again. */
function pending(spec: SweepSpec, storeRoot: string, imports: DatasetImportInput[]): SweepPlan {
  return { spec, classes: [], datasetFingerprint: '', storeRoot, sourceKeys: {}, imports };
}

async function badInput<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    return nonRetryable(FAILURE_TYPES.invalidSpec, () => {
      throw err;
    });
  }
}

export function createPlanActivities(deps: ActivityDeps) {
  return {
    async planSweep(input: PlanSweepInput): Promise<SweepPlan> {
      const spec = nonRetryable(FAILURE_TYPES.invalidSpec, () => validateSpec(input.spec, 'sweep spec'));
      // Before any work: real-pairs shard sets (a plan after dataset imports was preceded by one that checked them).
      if (!input.imported) await checkRealPairsSources(spec);
      const imported = input.imported ?? {};
      const main = await resolveMainDataset(deps, spec, imported);
      if ('imports' in main) return pending(spec, deps.store.root, main.imports);
      const evals = await badInput(() => resolveEvalDatasets(deps, spec, main.info, imported));
      if ('imports' in evals) return pending(spec, deps.store.root, evals.imports);
      nonRetryable(FAILURE_TYPES.invalidSpec, () => checkSizesFit(spec, main.info));
      const fingerprint = main.info.fingerprint;
      return {
        spec,
        classes: [...main.info.classes],
        datasetFingerprint: fingerprint,
        dataset: main.info,
        ...(main.legacy ? {} : { datasetRef: fingerprint }),
        ...(Object.keys(evals.infos).length ? { evalDatasets: evals.infos } : {}),
        storeRoot: deps.store.root,
        sourceKeys: sourceKeysFor(spec, fingerprint),
        evalSets: evalSetsFor(spec, { ...(main.legacy ? {} : { main: fingerprint }), own: evals.own }),
      };
    },
  };
}
