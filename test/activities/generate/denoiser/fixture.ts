// Shared by the denoiser's tests: an untrained toy model (8x8 grey, 8 dims, 3 classes: instant),
// toy training sets at any geometry, and a denoiser trained briefly on real Fashion-MNIST.
import { FASHION_MNIST_CLASSES, IMAGE_PIXELS } from '../../../../core/datasets/fashion-mnist.js';
import { pixelsPerImage, type ImageGeometry } from '../../../../core/image/geometry.js';
import { createRng } from '../../../../core/rng.js';
import { fitDenoiserGenerator } from '../../../../activities/generate/denoiser/fit.js';
import { DENOISER_CODE_VERSION, DENOISER_FORMAT_VERSION, layerShapes, TIME_EMBED_DIMS, type DenoiserFitConfig, type DenoiserGeneratorModel } from '../../../../activities/generate/denoiser/model.js';
import { initialWeights } from '../../../../activities/generate/denoiser/train.js';
import type { TrainImages } from '../../../../activities/generate/gmm/model.js';
import { loadTrain } from '../gmm/fixture.js';

export const TOY_CLASSES = ['circle', 'square', 'stripe'];

/** An untrained model on 8x8 grey: basis = the first 8 pixels, Glorot weights seeded by `seed`. */
export function toyModel(seed = 1, hidden = [32, 32]): DenoiserGeneratorModel {
  const geometry: ImageGeometry = { size: 8, channels: 1 };
  const P = pixelsPerImage(geometry);
  const D = 8;
  const basis = new Float32Array(D * P);
  for (let d = 0; d < D; d++) basis[d * P + d * 7] = 1;
  return {
    formatVersion: DENOISER_FORMAT_VERSION,
    codeVersion: DENOISER_CODE_VERSION,
    classes: [...TOY_CLASSES],
    geometry,
    pixels: P,
    pcaDims: D,
    fitSeed: seed,
    trainCount: 0,
    explainedVariance: 0.5,
    mean: new Float32Array(P).fill(-0.5),
    basis,
    eigenvalues: Float32Array.from({ length: D }, (_, d) => 0.01 / (d + 1)),
    hidden,
    timeEmbedDims: TIME_EMBED_DIMS,
    training: { steps: 1, batchSize: 1, learningRate: 1e-3, condDropout: 0.1, finalLoss: 1 },
    weights: initialWeights(layerShapes(D, TIME_EMBED_DIMS, TOY_CLASSES.length, hidden), seed),
  };
}

/** `n` seeded toy images at `geometry`: class c is a bright square at one of 3 places, plus noise. */
export function toySet(geometry: ImageGeometry, n: number, seed = 0): TrainImages {
  const P = pixelsPerImage(geometry);
  const { size, channels } = geometry;
  const rng = createRng(`denoiser-toy|${seed}`);
  const images = new Uint8Array(n * P);
  const labels = new Uint8Array(n);
  const half = Math.floor(size / 2);
  for (let i = 0; i < n; i++) {
    const c = i % TOY_CLASSES.length;
    labels[i] = c;
    const x0 = c === 1 ? half : 0;
    const y0 = c === 2 ? half : 0;
    const level = 120 + rng.int(120);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inside = x >= x0 && x < x0 + half && y >= y0 && y < y0 + half;
        for (let ch = 0; ch < channels; ch++) images[i * P + (y * size + x) * channels + ch] = Math.min(255, (inside ? level : 0) + rng.int(40) + ch * 10 * c);
      }
    }
  }
  return { images, labels, count: n, geometry };
}

export const FASHION_FIT: DenoiserFitConfig = {
  pcaDims: 32,
  hidden: [256, 256, 256],
  trainSteps: 600,
  batchSize: 256,
  learningRate: 1e-3,
  condDropout: 0.15,
  fitSeed: 0,
  checkpointEvery: 1_000_000,
};

/** A denoiser trained briefly (FASHION_FIT: ~10 s on 2 idle cores) on the first 4000 Fashion-MNIST training images. */
export async function trainedFashionModel(): Promise<DenoiserGeneratorModel> {
  const train = await loadTrain();
  const n = 4000;
  const subset: TrainImages = { images: train.images.subarray(0, n * IMAGE_PIXELS), labels: train.labels.subarray(0, n), count: n, geometry: train.geometry };
  const noCheckpoint = { load: async () => undefined, save: async () => {} };
  const { model } = await fitDenoiserGenerator(subset, FASHION_FIT, FASHION_MNIST_CLASSES, { heartbeat: () => {}, checkpoint: noCheckpoint });
  return model;
}
