// cpu queue: all workflows plus the light activities (plan, prompts, shards, analysis, report).
import { createCpuActivities } from '../activities/index.js';
import { depsFromEnv } from '../core/activity-deps.js';
import { TASK_QUEUES } from '../workflows/task-queues.js';
import { bundlerOptions, runWorker, WORKFLOWS_PATH } from './run-worker.js';

await runWorker({
  taskQueue: TASK_QUEUES.cpu,
  workflowsPath: WORKFLOWS_PATH,
  bundlerOptions,
  activities: createCpuActivities(depsFromEnv()),
});
