// First stage of a sweep: validate the spec where the workflow cannot (no I/O, no zod in
// workflow code) and pin what the rest of the sweep depends on.
import { FAILURE_TYPES } from '../../contracts/failures.js';
import { evalSetsFor } from '../../contracts/eval-sets.js';
import { sourceKeysFor, type SweepPlan } from '../../contracts/plan.js';
import { validateSpec } from '../../contracts/spec/sweep.js';
import { datasetFingerprint, type ActivityDeps } from '../../core/activity-deps.js';
import { datasetProvider } from '../../core/datasets/registry.js';
import { nonRetryable } from '../../core/non-retryable.js';

export { SYNTHETIC_SHARDS_CODE_VERSION, sourceKeyFor } from '../../contracts/plan.js';
export { evalSetsFor } from '../../contracts/eval-sets.js';

export function createPlanActivities(deps: ActivityDeps) {
  return {
    async planSweep(input: { spec: unknown }): Promise<SweepPlan> {
      const spec = nonRetryable(FAILURE_TYPES.invalidSpec, () => validateSpec(input.spec, 'sweep spec'));
      const fingerprint = await datasetFingerprint(deps, spec.dataset);
      return {
        spec,
        classes: [...datasetProvider(spec.dataset).classes],
        datasetFingerprint: fingerprint,
        storeRoot: deps.store.root,
        sourceKeys: sourceKeysFor(spec, fingerprint),
        evalSets: evalSetsFor(spec),
      };
    },
  };
}
