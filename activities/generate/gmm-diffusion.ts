// The embedded text-to-image generator, as one import: PCA of the training images, a diagonal
// Gaussian mixture per class in PCA space, and a DDIM sampler (eta = 0) whose denoiser is the
// closed-form posterior mean of that mixture, conditioned by classifier-free guidance. Its parts
// live in ./gmm/ (model.ts, fit.ts, model-format.ts, sampler.ts and their helpers).
export {
  ATTRIBUTE_NAMES,
  ATTRIBUTE_STRENGTH,
  GENERATOR_CODE_VERSION,
  GMM_FORMAT_VERSION,
  GmmModelFormatError,
  type GmmFitConfig,
  type GmmGeneratorModel,
  type PromptAttributes,
  type SampleOptions,
  type TrainImages,
} from './gmm/model.js';
export { fitGmmGenerator } from './gmm/fit.js';
export { deserializeGmmModel, serializeGmmModel, validateGmmModel } from './gmm/model-format.js';
export { ddimTimesteps } from './gmm/schedule.js';
export { componentFeatureZ } from './gmm/features.js';
export { conditionalComponentWeights } from './gmm/conditioning.js';
export { sampleBatch, sampleImage } from './gmm/sampler.js';
