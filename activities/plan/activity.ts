// First stage of a sweep: validate the spec where the workflow cannot (no I/O, no zod in
// workflow code) and pin what the rest of the sweep depends on.
import { FAILURE_TYPES } from '../../contracts/failures.js';
import { FASHION_MNIST_CLASSES } from '../../core/datasets/fashion-mnist.js';
import { validateSpec, type SweepSpec } from '../../contracts/spec/sweep.js';
import { inputHash } from '../../core/hash.js';
import { keySegment } from '../../core/keys.js';
import type { EvalSetSpec } from '../../contracts/types.js';
import { nonRetryable } from '../../core/non-retryable.js';

import { datasetFingerprint, type ActivityDeps } from '../../core/activity-deps.js';
export type { SweepPlan } from '../../contracts/plan.js';
export { SYNTHETIC_SHARDS_CODE_VERSION, sourceKeyFor, evalSetsFor } from '../../contracts/plan.js';
import type { SweepPlan } from '../../contracts/plan.js';
import { SYNTHETIC_SHARDS_CODE_VERSION, sourceKeyFor, evalSetsFor } from '../../contracts/plan.js';




export function createPlanActivities(deps: ActivityDeps) {
  return {
    async planSweep(input: { spec: unknown }): Promise<SweepPlan> {
      const spec = nonRetryable(FAILURE_TYPES.invalidSpec, () => validateSpec(input.spec, 'sweep spec'));
      const fingerprint = await datasetFingerprint(deps);
      return {
        spec,
        classes: [...FASHION_MNIST_CLASSES],
        datasetFingerprint: fingerprint,
        storeRoot: deps.store.root,
        sourceKeys: Object.fromEntries(spec.sources.map((source) => [source.name, sourceKeyFor(spec, source, fingerprint)])),
        evalSets: evalSetsFor(spec),
      };
    },
  };
}
