// The GPU check's training run (infra/gpu-check.sh runs it after installing tfjs-node-gpu):
// ResNet-20 (width 16) at 32x32x3 with 10 classes trained for a fixed number of steps on native
// TensorFlow, which must be computing on a GPU. Prints the device, the training img/s, the kernel
// compilation delay (the first step, model setup included, against the median step), and 1/3 of
// the inference img/s as the usual bound; exits 1 with one line saying why when no GPU computes.
//   node --import tsx bench/gpu-check.ts [--steps 200] [--batch 128] [--json out.json] [--allow-cpu]
// (--allow-cpu: run on whatever native TensorFlow computes on, to check this script without a GPU.)
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { initTfBackend } from '../core/nn/backend.js';
import { trainClassifier } from '../core/nn/classifier.js';
import { predictLogits } from '../core/nn/metrics.js';
import { median } from './lib.js';
import { CLASSES, GEOMETRY, resnetRecipe, syntheticImages } from './models.js';

const { values } = parseArgs({
  options: { steps: { type: 'string', default: '200' }, batch: { type: 'string', default: '128' }, json: { type: 'string' }, 'allow-cpu': { type: 'boolean', default: false } },
});
const steps = Number(values.steps);
const batch = Number(values.batch);
if (!(Number.isInteger(steps) && steps >= 3 && Number.isInteger(batch) && batch >= 1)) {
  console.error('gpu-check: --steps must be an integer >= 3 and --batch a positive integer');
  process.exit(2);
}

function fail(message: string): never {
  console.error(`gpu-check: FAILED: ${message}`);
  process.exit(1);
}

let backend;
try {
  backend = await initTfBackend('tensorflow');
} catch (err) {
  fail(`native TensorFlow did not load (${(err as Error).message.split('\n')[0]})`);
}
const native = backend.tf.backend() as unknown as { isUsingGpuDevice?: boolean; binding?: { TF_Version?: string } };
const allowCpu = values['allow-cpu'];
if (!allowCpu && backend.nativePackage !== '@tensorflow/tfjs-node-gpu') fail(`the native package is ${backend.nativePackage}, not @tensorflow/tfjs-node-gpu (no CUDA device visible to this process, or tfjs-node-gpu is not installed)`);
if (!allowCpu && !native.isUsingGpuDevice) fail('@tensorflow/tfjs-node-gpu loaded but TensorFlow found no usable GPU (CUDA driver or libraries missing?): it would compute on the CPU');
console.log(`gpu-check: backend ${backend.backend} (${backend.nativePackage}, TensorFlow ${native.binding?.TF_Version ?? '?'}), computing on the ${native.isUsingGpuDevice ? 'GPU' : 'CPU (--allow-cpu)'}`);

// Exactly `steps` steps: one epoch of steps * batch images, no validation, constant rate.
const data = syntheticImages(steps * batch);
const recipe = { ...resnetRecipe('tensorflow'), batchSize: batch };
const stamps: number[] = [];
const started = performance.now();
const result = await trainClassifier(data, recipe, { seed: 'gpu-check', yieldEveryMs: 0, onProgress: () => void stamps.push(performance.now()) });
const total = (performance.now() - started) / 1000;
if (result.steps !== steps || stamps.length !== steps) fail(`expected ${steps} steps with a progress report each, got ${result.steps} steps and ${stamps.length} reports`);
// Each report reads the step's loss back, so the stamps are synchronised with the device.
const first = (stamps[0]! - started) / 1000;
const deltas = stamps.slice(1).map((t, i) => (t - stamps[i]!) / 1000);
const medianStep = median(deltas);
const trainImgPerSec = (batch * deltas.length) / deltas.reduce((a, b) => a + b, 0);

const inferImages = Math.min(10_000, data.count);
await predictLogits(result.model, data.images, Math.min(1000, inferImages), { backend: 'tensorflow', batchSize: 1000 });
const t = performance.now();
await predictLogits(result.model, data.images, inferImages, { backend: 'tensorflow', batchSize: 1000 });
const inferImgPerSec = inferImages / ((performance.now() - t) / 1000);

const summary = {
  model: 'ResNet-20 width 16',
  geometry: GEOMETRY,
  classes: CLASSES,
  steps,
  batch,
  tensorflow: native.binding?.TF_Version ?? null,
  gpu: native.isUsingGpuDevice === true,
  firstStepSeconds: first,
  medianStepSeconds: medianStep,
  kernelCompilationSeconds: first - medianStep,
  trainImgPerSec,
  trainImgPerSecWithFirstStep: (batch * steps) / total,
  inferImgPerSec,
  trainVsThirdOfInference: trainImgPerSec / (inferImgPerSec / 3),
  finalLoss: result.finalLoss,
};
console.log(`gpu-check: ${steps} steps of batch ${batch} in ${total.toFixed(1)} s; final batch loss ${result.finalLoss.toFixed(3)}`);
console.log(`gpu-check: first step ${(first * 1000).toFixed(0)} ms (model setup + kernel compilation/autotuning), median step ${(medianStep * 1000).toFixed(1)} ms: compilation delay ${((first - medianStep) * 1000).toFixed(0)} ms`);
console.log(`gpu-check: training ${trainImgPerSec.toFixed(0)} img/s (after the first step), inference ${inferImgPerSec.toFixed(0)} img/s; training / (inference / 3) = ${summary.trainVsThirdOfInference.toFixed(2)}`);
if (values.json) await writeFile(values.json, JSON.stringify(summary, null, 1) + '\n');
console.log(`RESULT ${JSON.stringify(summary)}`);
