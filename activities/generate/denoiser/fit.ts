// Fitting the neural generator: the Gaussian-mixture generator's PCA of the training images (same
// code, same basis for the same images and fitSeed), whitened coordinates and per-image attributes,
// then the denoiser's training (train.ts), resumed from the caller's checkpoint when it has one.
import { checkGeometry, FASHION_MNIST_GEOMETRY, pixelsPerImage } from '../../../core/image/geometry.js';
import type { BackendPreference } from '../../../core/nn/backend.js';
import type { TrainImages } from '../gmm/model.js';
import { fitPca } from '../gmm/pca.js';
import { imageAttributes } from './features.js';
import { DENOISER_CODE_VERSION, DENOISER_FORMAT_VERSION, latentScale, TIME_EMBED_DIMS, type DenoiserFitConfig, type DenoiserGeneratorModel } from './model.js';
import { validateDenoiserModel } from './model-format.js';
import { trainDenoiser, type CheckpointStore, type DenoiserTrainProgress } from './train.js';

/** What fitting reports as it goes: a phase line, and the step and loss while training. */
export interface DenoiserFitHeartbeat {
  phase: string;
  step?: number;
  totalSteps?: number;
  loss?: number;
}

export interface DenoiserFitHooks {
  heartbeat(details: DenoiserFitHeartbeat): void;
  /** Where training checkpoints go and a resumed fit finds the last one. */
  checkpoint: CheckpointStore;
  /** A stored checkpoint could not be used (unreadable or another run's); training starts at step 0. */
  onResumeIgnored?(reason: string): void;
  signal?: AbortSignal;
  /** TF.js backend for training (default 'auto'). */
  backend?: BackendPreference;
}

export interface DenoiserFitOutcome {
  model: DenoiserGeneratorModel;
  /** Step the training resumed at (0: fresh). */
  resumedFromStep: number;
  backend: string;
}

/**
 * Fit at the images' geometry (train.geometry, default 28x28 grey): PCA (../gmm/pca.ts), the
 * training images' whitened coordinates and attributes, then cfg.trainSteps of denoiser training,
 * checkpointed every cfg.checkpointEvery steps through hooks.checkpoint. Deterministic for given
 * data, config and backend; a fit resumed from a checkpoint gives the model of an uninterrupted one.
 */
export async function fitDenoiserGenerator(train: TrainImages, cfg: DenoiserFitConfig, classes: readonly string[], hooks: DenoiserFitHooks): Promise<DenoiserFitOutcome> {
  const geometry = checkGeometry(train.geometry ?? FASHION_MNIST_GEOMETRY, 'training images');
  const P = pixelsPerImage(geometry);
  const n = train.count;
  const D = cfg.pcaDims;
  checkFitInput(train, P, D, classes);
  const started = Date.now();
  const phase = (msg: string) => hooks.heartbeat({ phase: `${msg} (${((Date.now() - started) / 1000).toFixed(1)}s)` });
  const pca = fitPca(train, P, D, cfg.fitSeed, phase);
  const scale = latentScale(pca.eigenvalues);
  const x0 = new Float32Array(n * D);
  for (let i = 0; i < n; i++) for (let d = 0; d < D; d++) x0[i * D + d] = pca.Z[i * D + d]! / scale[d]!;
  const attributes = imageAttributes(train, geometry.size, geometry.channels, classes.length);
  const report = (p: DenoiserTrainProgress) => hooks.heartbeat({ phase: 'training', step: p.step, totalSteps: p.totalSteps, loss: Number(p.loss.toFixed(5)) });
  const trained = await trainDenoiser(
    { x0, labels: train.labels.subarray(0, n), attributes, count: n, D, classes: classes.length },
    { ...cfg, seed: cfg.fitSeed, timeEmbedDims: TIME_EMBED_DIMS },
    { checkpoint: hooks.checkpoint, onProgress: report, onResumeIgnored: hooks.onResumeIgnored, signal: hooks.signal, backend: hooks.backend },
  );
  phase(`trained ${trained.steps} steps on ${trained.backend} (from step ${trained.resumedFromStep}), loss ${trained.finalLoss.toFixed(4)}`);
  const model: DenoiserGeneratorModel = {
    formatVersion: DENOISER_FORMAT_VERSION,
    codeVersion: DENOISER_CODE_VERSION,
    classes: [...classes],
    geometry: { size: geometry.size, channels: geometry.channels },
    pixels: P,
    pcaDims: D,
    fitSeed: cfg.fitSeed,
    trainCount: n,
    explainedVariance: Math.fround(Math.min(1, pca.explained / pca.totalVariance)),
    mean: pca.mean,
    basis: pca.basis,
    eigenvalues: pca.eigenvalues,
    hidden: [...cfg.hidden],
    timeEmbedDims: TIME_EMBED_DIMS,
    training: {
      steps: trained.steps,
      batchSize: cfg.batchSize,
      learningRate: cfg.learningRate,
      condDropout: cfg.condDropout,
      finalLoss: Math.fround(trained.finalLoss),
    },
    weights: trained.weights,
  };
  validateDenoiserModel(model);
  return { model, resumedFromStep: trained.resumedFromStep, backend: trained.backend };
}

/** Throws unless the training set can be fitted (every class needs images: its condition is learned from them). */
function checkFitInput(train: TrainImages, P: number, D: number, classes: readonly string[]): void {
  const n = train.count;
  const C = classes.length;
  if (!Number.isInteger(n) || n < 2) throw new Error(`fitDenoiserGenerator: need at least 2 training images, got ${n}`);
  if (train.images.length < n * P) throw new Error(`fitDenoiserGenerator: ${train.images.length} image bytes for ${n} images of ${P} pixels`);
  if (train.labels.length < n) throw new Error(`fitDenoiserGenerator: ${train.labels.length} labels for ${n} images`);
  if (C < 1 || C > 255) throw new Error(`fitDenoiserGenerator: ${C} classes (labels are bytes)`);
  if (!Number.isInteger(D) || D < 1 || D > P) throw new Error(`fitDenoiserGenerator: pcaDims must be an integer in 1..${P}, got ${D}`);
  const counts = new Uint32Array(C);
  for (let i = 0; i < n; i++) {
    const label = train.labels[i]!;
    if (label >= C) throw new Error(`fitDenoiserGenerator: label ${label} of image ${i} is out of range for ${C} classes`);
    counts[label]! += 1;
  }
  counts.forEach((c, k) => {
    if (c === 0) throw new Error(`fitDenoiserGenerator: class "${classes[k]}" has no training images`);
  });
}
