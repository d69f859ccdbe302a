// train queue: classifier training and evaluation (TF.js; native TensorFlow when installed, else wasm).
import { createTrainActivities } from '../activities/index.js';
import { depsFromEnv } from '../core/activity-deps.js';
import { TASK_QUEUES } from '../workflows/task-queues.js';
import { runWorker } from './run-worker.js';
import { initTfBackend, visibleCudaDevices } from '../core/nn/backend.js';

// Say at start which backend and device training will use (a cell's recipe.backend can still
// override the backend). infra/stack.sh starts one train worker per GPU, each with its own
// CUDA_VISIBLE_DEVICES.
const { backend, nativePackage, gpu } = await initTfBackend('auto');
const cvd = process.env.CUDA_VISIBLE_DEVICES;
const devices = visibleCudaDevices(process.env);
console.log(
  `synthscale train worker: TF.js backend ${backend}` +
    (nativePackage ? ` (${nativePackage})` : '') +
    `, device ${gpu ? `GPU (CUDA devices visible: ${devices.join(',')})` : 'CPU'}` +
    `, CUDA_VISIBLE_DEVICES=${cvd === undefined ? '(unset)' : cvd === '' ? '""' : cvd}`,
);

await runWorker({
  taskQueue: TASK_QUEUES.train,
  activities: createTrainActivities(depsFromEnv()),
  maxConcurrentActivityTaskExecutions: Number(process.env.SYNTHSCALE_TRAIN_CONCURRENCY ?? 1),
});
