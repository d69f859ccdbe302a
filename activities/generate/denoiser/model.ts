// The embedded neural generator's model: the Gaussian-mixture generator's PCA of the training
// images (../gmm/pca.ts, same basis for the same data and fitSeed) and a small MLP that predicts
// the noise (epsilon) of a DDPM forward process in that PCA space, whitened (each coordinate over
// the square root of its eigenvalue). The MLP reads [x_t, sinusoidal embedding of t, condition]
// and is trained with condition dropout (train.ts), so one network gives both the conditional and
// the unconditional prediction and classifier-free guidance is eps_u + s (eps_c - eps_u)
// (sampler.ts). Stored as a versioned, bounded blob (model-format.ts).
import type { ImageGeometry } from '../../../core/image/geometry.js';
import { ATTRIBUTE_NAMES } from '../gmm/model.js';

/** Bump when anything that changes fitted denoisers or their samples changes (it keys cached models and shards). */
export const DENOISER_CODE_VERSION = 'denoiser-ddim-1';
/** Version of the serialized model layout. */
export const DENOISER_FORMAT_VERSION = 1;
/** Sinusoidal timestep embedding width (sin and cos of TIME_EMBED_DIMS / 2 frequencies). */
export const TIME_EMBED_DIMS = 32;
/** Eigenvalues are floored here before whitening, so a direction without variance stays finite. */
export const EIGENVALUE_FLOOR = 1e-6;

export interface DenoiserGeneratorModel {
  formatVersion: number;
  codeVersion: string;
  classes: string[];
  /** The images it was fitted on and samples: size x size x channels. */
  geometry: ImageGeometry;
  /** Values per image: pixelsPerImage(geometry). */
  pixels: number;
  pcaDims: number;
  fitSeed: number;
  /** Training images the model was fitted on. */
  trainCount: number;
  /** Fraction of the pixel variance inside the PCA subspace. */
  explainedVariance: number;
  /** [pixels]: mean image, values scaled to [-1, 1]. */
  mean: Float32Array;
  /** [pcaDims * pixels]: row d is the d-th principal direction (unit norm). */
  basis: Float32Array;
  /** [pcaDims]: variance of the training data along each principal direction (whitening scale^2). */
  eigenvalues: Float32Array;
  /** Hidden layer widths of the MLP. */
  hidden: number[];
  timeEmbedDims: number;
  /** What it was trained with (recorded for the report; sampling does not read them). */
  training: DenoiserTrainingRecord;
  /** Per layer l (hidden..., output): W_l [in_l * out_l] row-major (in, out), then b_l [out_l]. */
  weights: Float32Array[];
}

export interface DenoiserTrainingRecord {
  steps: number;
  batchSize: number;
  learningRate: number;
  condDropout: number;
  /** Mean squared error of the last step's batch. */
  finalLoss: number;
}

/** What fitting reads of the spec (contracts' embedded-denoiser spec has these fields). */
export interface DenoiserFitConfig {
  pcaDims: number;
  hidden: number[];
  trainSteps: number;
  batchSize: number;
  learningRate: number;
  /** Probability that a training example's condition is replaced by the null condition. */
  condDropout: number;
  fitSeed: number;
  checkpointEvery: number;
}

export class DenoiserModelFormatError extends Error {
  readonly code = 'E_DENOISER_MODEL_FORMAT';
}

/**
 * Condition input width for C classes: the class weights (C, summing to 1), the prompt attributes
 * (brightness, size, texture in [-1, 1]; 0 = not said) and a null flag, 1 for the unconditional
 * branch, whose other entries are then 0 (so the null condition is learned through the flag's weights).
 */
export function conditionDims(classes: number): number {
  return classes + ATTRIBUTE_NAMES.length + 1;
}

/** [in, out] of each layer: input = pcaDims + timeEmbedDims + conditionDims(C), then hidden..., then pcaDims. */
export function layerShapes(pcaDims: number, timeEmbedDims: number, classes: number, hidden: readonly number[]): [number, number][] {
  const widths = [pcaDims + timeEmbedDims + conditionDims(classes), ...hidden, pcaDims];
  return widths.slice(1).map((out, l) => [widths[l]!, out]);
}

/** The weight arrays' lengths, in model.weights order (W_0, b_0, W_1, b_1, ...). */
export function weightSizes(shapes: readonly [number, number][]): number[] {
  return shapes.flatMap(([i, o]) => [i * o, o]);
}

/** The whitening scale of each PCA coordinate: sqrt(max(eigenvalue, EIGENVALUE_FLOOR)). */
export function latentScale(eigenvalues: Float32Array): Float64Array {
  return Float64Array.from(eigenvalues, (v) => Math.sqrt(Math.max(v, EIGENVALUE_FLOOR)));
}
