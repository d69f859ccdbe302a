// generate queue: generator fitting and image generation. Sampling is CPU-bound JS, so one
// activity at a time per process; scale out with more processes.
import { createGenerateActivities } from '../activities/index.js';
import { depsFromEnv } from '../core/activity-deps.js';
import { TASK_QUEUES } from '../workflows/task-queues.js';
import { runWorker } from './run-worker.js';

await runWorker({
  taskQueue: TASK_QUEUES.generate,
  activities: createGenerateActivities(depsFromEnv()),
  maxConcurrentActivityTaskExecutions: Number(process.env.SYNTHSCALE_GENERATE_CONCURRENCY ?? 1),
});
