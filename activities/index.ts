// Activities grouped by the task queue whose worker runs them.
import { createDatasetActivities } from './datasets/activity.js';
import { log } from '@temporalio/activity';
import type { ActivityDeps } from '../core/activity-deps.js';
import { injectStorageFaults } from '../core/faults.js';
import { withRetries } from '../core/resilience.js';
import { createPlanActivities } from './plan/activity.js';
import { createPromptActivities } from './prompts/activity.js';
import { createShardActivities } from './shards/activity.js';
import { createPairActivities } from './shards/pairs-activity.js';
import { createGenerateActivities as generateStage } from './generate/activity.js';
import { createTrainActivities as trainStage } from './train/activity.js';
import { createEvaluateActivities } from './evaluate/activity.js';
import { createRecognizabilityActivities } from './evaluate/recognizability-activity.js';
import { createClipActivities } from './clip/activity.js';
import { createAnalyzeActivities } from './analyze/activity.js';
import { createReportActivities } from './report/activity.js';
import { createNotifyActivities } from './notify/activity.js';
import { createAdaptActivities } from './analyze/adapt/activity.js';

/**
 * Storage calls retry transient failures with backoff and time out when they hang (the fault
 * injector, a test-only seam, is the identity unless SYNTHSCALE_FAULTS is set). The generate
 * stage wraps per activity itself, to count its retries.
 */
function resilient(deps: ActivityDeps): ActivityDeps {
  const onRetry = (op: string, err: unknown) => {
    try {
      log.warn('retrying storage call', { op, error: err instanceof Error ? err.message : String(err) });
    } catch {
      // Outside an activity (no context to log through): the retry itself still happens.
    }
  };
  return { ...deps, store: withRetries(injectStorageFaults(deps.store), { onRetry }) };
}

export function createCpuActivities(rawDeps: ActivityDeps) {
  const deps = resilient(rawDeps);
  return {
    ...createPlanActivities(deps),
    ...createDatasetActivities(deps),
    ...createPromptActivities(deps),
    ...createShardActivities(deps),
    ...createPairActivities(deps),
    ...createAnalyzeActivities(deps),
    ...createAdaptActivities(deps),
    ...createReportActivities(deps),
    // Reads SYNTHSCALE_WEBHOOK_URL / _SECRET on each call: no deps.
    ...createNotifyActivities(),
  };
}

export function createGenerateActivities(deps: ActivityDeps) {
  return generateStage(deps);
}

export function createTrainActivities(rawDeps: ActivityDeps) {
  const deps = resilient(rawDeps);
  return { ...trainStage(deps), ...createEvaluateActivities(deps), ...createRecognizabilityActivities(deps), ...createClipActivities(deps) };
}
