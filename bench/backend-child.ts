// Child process: training and inference throughput of one model (the spec's 'mlp' 784-256-10 or
// 'cnn' conv16-pool-conv32-pool-256-10) on ONE TF.js backend. A fresh process per (backend,
// model), so native thread pools and wasm state never mix.
//   node --import tsx bench/backend-child.ts <tensorflow|wasm|cpu> <trainSteps> <warmupSteps> <inferImages> [mlp|cnn]
import { initTfBackend, type BackendPreference } from '../core/nn/backend.js';
import { initialClassifier, trainClassifier, type ModelArch } from '../core/nn/classifier.js';
import { predictLogits } from '../core/nn/metrics.js';
import { loadSplit, locateFashionMnist } from '../core/datasets/fashion-mnist.js';
import { TrainingSchema } from '../contracts/spec/sweep.js';
import { projectDataDir } from '../core/activity-deps.js';
import { emitResult, median } from './lib.js';

const backend = process.argv[2] as BackendPreference;
const trainSteps = Number(process.argv[3]);
const warmupSteps = Number(process.argv[4]);
const inferImages = Number(process.argv[5]);
const model = (process.argv[6] ?? 'mlp') as ModelArch;
const INFER_BATCH = 1000;
const BATCH = 128;

let active: string;
try {
  active = (await initTfBackend(backend)).backend;
} catch (err) {
  emitResult({ available: false, reason: (err as Error).message.split('\n')[0] });
  process.exit(0);
}

const dir = await locateFashionMnist(projectDataDir());
const train = await loadSplit(dir, 'train');
// Spec defaults (hidden [256], batch 128, lr 1e-3, Adam); epochs 1 and minSteps 0 so that
// `count` images are exactly count/128 optimizer steps.
// Plain step throughput: no validation pass, no schedule or decay.
const recipe = { ...TrainingSchema.parse({}), backend, model, epochs: 1, minSteps: 0, schedule: 'constant' as const, weightDecay: 0, validationFraction: 0, patience: 0 };

const slice = (start: number, count: number) => ({
  images: train.images.subarray(start * 784, (start + count) * 784),
  labels: train.labels.subarray(start, start + count),
  count,
});

// Warm-up (kernel compilation, allocator), then 3 timed runs on different slices.
await trainClassifier(slice(0, warmupSteps * BATCH), recipe, { seed: 'warmup' });
const trainImages = trainSteps * BATCH;
const trainSeconds: number[] = [];
let trained = initialClassifier([256], 0, model);
for (let rep = 0; rep < 3; rep++) {
  const start = (rep * trainImages) % (train.count - trainImages);
  const t = performance.now();
  const result = await trainClassifier(slice(start, trainImages), recipe, { seed: rep });
  trainSeconds.push((performance.now() - t) / 1000);
  trained = result.model;
}

// Inference: predictLogits in batches of 1000 (the evaluate activity's path), same backend.
await predictLogits(trained, train.images, INFER_BATCH, { backend, batchSize: INFER_BATCH });
const inferSeconds: number[] = [];
for (let rep = 0; rep < 3; rep++) {
  const start = (rep * inferImages) % (train.count - inferImages);
  const t = performance.now();
  await predictLogits(trained, train.images.subarray(start * 784), inferImages, { backend, batchSize: INFER_BATCH });
  inferSeconds.push((performance.now() - t) / 1000);
}

emitResult({
  available: true,
  backend: active,
  model,
  trainImages,
  trainSeconds,
  trainImgPerSec: trainImages / median(trainSeconds),
  inferImages,
  inferSeconds,
  inferImgPerSec: inferImages / median(inferSeconds),
  maxRssMb: process.resourceUsage().maxRSS / 1024,
});
