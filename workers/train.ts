// train queue: classifier training and evaluation (TF.js; native TensorFlow when installed, else wasm).
import { createTrainActivities } from '../activities/index.js';
import { depsFromEnv } from '../activities/context.js';
import { TASK_QUEUES } from '../workflows/task-queues.js';
import { runWorker } from './run-worker.js';
import { initTfBackend } from '../activities/train/backend.js';

// Say at start which backend training will use (a cell's recipe.backend can still override it).
const { backend } = await initTfBackend('auto');
console.log(`synthscale train worker: TF.js backend ${backend}`);

await runWorker({
  taskQueue: TASK_QUEUES.train,
  activities: createTrainActivities(depsFromEnv()),
  maxConcurrentActivityTaskExecutions: Number(process.env.SYNTHSCALE_TRAIN_CONCURRENCY ?? 1),
});
