// Activities grouped by the task queue whose worker runs them.
import type { ActivityDeps } from './context.js';
import { createPlanActivities } from './plan/activity.js';
import { createPromptActivities } from './prompts/activity.js';
import { createShardActivities } from './shards/activity.js';
import { createGenerateActivities as generateStage } from './generate/activity.js';
import { createTrainActivities as trainStage } from './train/activity.js';
import { createEvaluateActivities } from './evaluate/activity.js';
import { createAnalyzeActivities } from './analyze/activity.js';
import { createReportActivities } from './report/activity.js';

export function createCpuActivities(deps: ActivityDeps) {
  return {
    ...createPlanActivities(deps),
    ...createPromptActivities(deps),
    ...createShardActivities(deps),
    ...createAnalyzeActivities(deps),
    ...createReportActivities(deps),
  };
}

export function createGenerateActivities(deps: ActivityDeps) {
  return generateStage(deps);
}

export function createTrainActivities(deps: ActivityDeps) {
  return { ...trainStage(deps), ...createEvaluateActivities(deps) };
}
