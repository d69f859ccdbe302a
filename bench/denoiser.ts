// The neural denoiser's rows (issue 21): its training in img/s against 1/3 of a forward pass of the
// same network at the same batch (forward + backward ~ 3 forwards), and its sampling in img/s
// against the JS forward pass it runs on (2 passes per DDIM step under guidance, 40 steps).
import { FASHION_MNIST_CLASSES, IMAGE_PIXELS, type ImageSet } from '../core/datasets/fashion-mnist.js';
import { initTfBackend } from '../core/nn/backend.js';
import { fitDenoiserGenerator } from '../activities/generate/denoiser/fit.js';
import { conditionDims, layerShapes } from '../activities/generate/denoiser/model.js';
import { forwardEps, prepareNetwork } from '../activities/generate/denoiser/network.js';
import { SAMPLE_BATCH, sampleBatch } from '../activities/generate/denoiser/sampler.js';
import { tfEps } from '../activities/generate/denoiser/train.js';
import { load1, median, progress, type Row } from './lib.js';

const FIT_IMAGES = 10_000;
const TRAIN_STEPS = 1000;
const BATCH = 256;
const DDIM_STEPS = 40;
const SAMPLES = 256;

export async function benchDenoiser(train: ImageSet): Promise<{ rows: Row[]; info: Record<string, unknown> }> {
  const fitSet = { ...train, images: train.images.subarray(0, FIT_IMAGES * IMAGE_PIXELS), labels: train.labels.subarray(0, FIT_IMAGES), count: FIT_IMAGES };
  const cfg = { pcaDims: 48, hidden: [256, 256, 256], trainSteps: TRAIN_STEPS, batchSize: BATCH, learningRate: 1e-3, condDropout: 0.15, fitSeed: 0, checkpointEvery: 500 };
  progress(`denoiser: fit (PCA + ${TRAIN_STEPS} training steps x ${BATCH}) on ${FIT_IMAGES} images`);
  let trainingStarted = 0;
  const t0 = performance.now();
  const { model, backend } = await fitDenoiserGenerator(fitSet, cfg, [...FASHION_MNIST_CLASSES], {
    heartbeat: (h) => void (h.phase === 'training' && !trainingStarted && (trainingStarted = performance.now())),
    checkpoint: { load: async () => undefined, save: async () => undefined },
  });
  const fitSeconds = (performance.now() - t0) / 1000;
  // The first training heartbeat comes after at most 250 ms of training: counted in.
  const trainSeconds = (performance.now() - trainingStarted) / 1000 + 0.25;
  const trainRate = (TRAIN_STEPS * BATCH) / trainSeconds;

  // The bound: the same network's forward pass in TF.js at the training batch.
  const { tf } = await initTfBackend('auto');
  const D = model.pcaDims;
  const inputs = D + model.timeEmbedDims + conditionDims(model.classes.length);
  const shapes = layerShapes(D, model.timeEmbedDims, model.classes.length, model.hidden).flatMap(([i, o]) => [[i, o], [o]]);
  const weights = model.weights.map((w, i) => tf.tensor(w, shapes[i]));
  const x = tf.randomNormal([BATCH, inputs]) as import('@tensorflow/tfjs-core').Tensor2D;
  for (let i = 0; i < 10; i++) tf.tidy(() => void tfEps(weights, x).dataSync());
  const forwardRates: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const t = performance.now();
    for (let i = 0; i < 50; i++) tf.tidy(() => void tfEps(weights, x).dataSync());
    forwardRates.push((50 * BATCH) / ((performance.now() - t) / 1000));
  }
  tf.dispose([...weights, x]);

  progress(`denoiser: sample ${SAMPLES} images (CFG 2, ${DDIM_STEPS} DDIM steps) x3, and the JS forward pass they run on`);
  const items = Array.from({ length: SAMPLES }, (_, i) => {
    const classWeights = new Float64Array(model.classes.length);
    classWeights[i % model.classes.length] = 1;
    return { classWeights, cfgScale: 2, steps: DDIM_STEPS, seed: `bench|${i}` };
  });
  sampleBatch(model, items.slice(0, 16));
  const sampleRates: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const t = performance.now();
    sampleBatch(model, items);
    sampleRates.push(SAMPLES / ((performance.now() - t) / 1000));
  }
  const net = prepareNetwork(model);
  const rows = 2 * SAMPLE_BATCH;
  const xs = Float64Array.from({ length: rows * D }, (_, i) => Math.sin(i));
  const cond = new Float64Array(rows * conditionDims(model.classes.length));
  const jsRates: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const t = performance.now();
    for (let i = 0; i < 100; i++) forwardEps(net, xs, rows, 500 + (i % 3), cond);
    jsRates.push((100 * rows) / ((performance.now() - t) / 1000));
  }
  const trainBound = median(forwardRates) / 3;
  const sampleBound = median(jsRates) / (2 * DDIM_STEPS);
  const sampleRate = median(sampleRates);
  return {
    info: { fitSeconds, trainSeconds, backend, forwardRates, sampleRates, jsRates },
    rows: [
      {
        section: 'generator',
        measurement: `neural denoiser training (MLP 48+time+cond -> 256x3 -> 48, batch ${BATCH}, Adam, condition dropout), ${backend} backend`,
        value: trainRate,
        unit: 'img/s',
        bound: `1/3 of the same network's TF.js forward pass at batch ${BATCH} (forward + backward ~ 3 forwards)`,
        boundValue: trainBound,
        boundUnit: 'img/s',
        ratio: trainRate / trainBound,
        note: `${TRAIN_STEPS} steps in ${trainSeconds.toFixed(1)} s (whole fit with PCA ${fitSeconds.toFixed(1)} s); forward ${forwardRates.map((r) => r.toFixed(0)).join(', ')} rows/s`,
        load1: load1(),
        boundSamples: forwardRates.map((r) => r / 3),
      },
      {
        section: 'generator',
        measurement: `neural denoiser sampling (CFG 2: 2 forward passes x ${DDIM_STEPS} DDIM steps per image, batches of ${SAMPLE_BATCH}, plain JS for bytes equal on every machine)`,
        value: sampleRate,
        unit: 'img/s',
        bound: `the JS forward pass at ${rows} rows / (2 x ${DDIM_STEPS})`,
        boundValue: sampleBound,
        boundUnit: 'img/s',
        ratio: sampleRate / sampleBound,
        note: `${SAMPLES} images per run, median of 3 (${sampleRates.map((r) => r.toFixed(0)).join(', ')} img/s); forward ${jsRates.map((r) => r.toFixed(0)).join(', ')} rows/s`,
        load1: load1(),
        samples: sampleRates,
        boundSamples: jsRates.map((r) => r / (2 * DDIM_STEPS)),
      },
    ],
  };
}
