// The embedded text-to-image generator's fitted model and the options it is fitted and sampled
// with: PCA of the training images, a diagonal Gaussian mixture per class in PCA space (see
// fit.ts), sampled by DDIM with classifier-free guidance (sampler.ts), stored as a compact
// versioned blob (model-format.ts). Images are at a geometry (square, grey or RGB, HWC): the PCA
// is over all pixelsPerImage(geometry) values, so colour is modelled jointly with shape.
import type { ImageGeometry } from '../../../core/image/geometry.js';

/** Bump when anything that changes fitted models or samples changes (it keys cached artifacts). */
/** 2: prompt attributes bias the mixture components within a class. */
export { GENERATOR_CODE_VERSION } from '../../../contracts/code-versions.js';
/** Version of the serialized model layout. */
export const GMM_FORMAT_VERSION = 1;

export interface GmmGeneratorModel {
  formatVersion: number;
  codeVersion: string;
  classes: string[];
  /** The images it was fitted on and samples: size x size x channels (models from before geometries: 28x28 grey). */
  geometry: ImageGeometry;
  /** Values per image: pixelsPerImage(geometry) (784 at 28x28 grey). */
  pixels: number;
  pcaDims: number;
  componentsPerClass: number;
  fitSeed: number;
  /** Training images the model was fitted on. */
  trainCount: number;
  /** Fraction of the pixel variance inside the PCA subspace. */
  explainedVariance: number;
  /** [pixels]: mean image, values scaled to [-1, 1]. */
  mean: Float32Array;
  /** [pcaDims * pixels]: row d is the d-th principal direction (unit norm). */
  basis: Float32Array;
  /** [pcaDims]: variance of the training data along each principal direction. */
  eigenvalues: Float32Array;
  /** [classes]: share of each class in the training data. */
  classPrior: Float32Array;
  /** [K]: the class each mixture component belongs to (components are grouped by class). */
  componentClass: Uint16Array;
  /** [K]: weight of each component within its class (sums to 1 per class). */
  componentWeight: Float32Array;
  /** [K * pcaDims]: component means in PCA coordinates. */
  componentMean: Float32Array;
  /** [K * pcaDims]: diagonal component variances in PCA coordinates. */
  componentVar: Float32Array;
}

export interface GmmFitConfig {
  pcaDims: number;
  componentsPerClass: number;
  fitSeed: number;
}

export interface TrainImages {
  /** count * pixelsPerImage(geometry) bytes, HWC. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  /** Absent: 28x28 grey. */
  geometry?: ImageGeometry;
}

export interface SampleOptions {
  /** Weights over model.classes (normalized here), or null for an unconditional sample. */
  classWeights: Float64Array | null;
  /** Classifier-free guidance: 0 = unconditional, 1 = conditional, > 1 = guided. */
  cfgScale: number;
  /** DDIM steps (1..1000), evenly spaced over the 1000 training timesteps. */
  steps: number;
  /** Seeds the initial noise; equal (model, options) give equal bytes. */
  seed: string;
  /**
   * What the prompt says beyond the class (text-condition.ts promptAttributes): each in [-1, 1],
   * tilting the class's mixture components towards lighter/darker, larger/smaller or more/less
   * textured ones. Absent or null: the class's own component weights.
   */
  attributes?: PromptAttributes | null;
}

/** Prompt attributes the embedded generator understands (0 = not mentioned). */
export interface PromptAttributes {
  brightness: number;
  size: number;
  texture: number;
}

export const ATTRIBUTE_NAMES = ['brightness', 'size', 'texture'] as const;
/** Log-weight added per unit of attribute x within-class z-score of the component's feature. */
export const ATTRIBUTE_STRENGTH = 1.5;

export class GmmModelFormatError extends Error {
  readonly code = 'E_GMM_MODEL_FORMAT';
}
