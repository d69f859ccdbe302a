// The classifier trained in every sweep cell: its public surface, gathered from the modules that
// hold it. Architectures (`arch`, models/registry.ts): 'mlp' (models/mlp.ts) and 'cnn'
// (models/cnn.ts), each a trunk followed by a linear 10-way head. Weights are always a flat list
// of Float32Arrays whose shapes follow from (arch, hidden) (modelShapes).
//  - classifier-model.ts: the model as plain data, initial weights, its binary format;
//  - classifier-train.ts: training (trainer.ts's loop: its reproducibility contract is there);
//  - classifier-checkpoint.ts: training checkpoints;
//  - input.ts / loss.ts: preprocessing and the cross-entropy.
export { CorruptModelError } from './container.js';
export { IMAGE_SIDE, INPUT_SIZE, NUM_CLASSES, preprocess } from './input.js';
export { meanSoftmaxCrossEntropy } from './loss.js';
export { CNN_FEATURES, CNN_FILTERS } from './models/cnn.js';
export { classifierLogits, MODEL_ARCHS, modelShapes, weightShapes, type ModelArch } from './models/registry.js';
export {
  checkClassifier,
  deserializeClassifier,
  initialClassifier,
  MODEL_FORMAT_VERSION,
  serializeClassifier,
  toLayersModel,
  type SerializedClassifier,
} from './classifier-model.js';
export { CHECKPOINT_FORMAT_VERSION, decodeCheckpoint, encodeCheckpoint, type CheckpointState, type RunFingerprint } from './classifier-checkpoint.js';
export {
  trainClassifier,
  type TrainingData,
  type TrainingRecipe,
  type TrainingStream,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
} from './classifier-train.js';
export { CheckpointMismatchError, trainingSteps, type Checkpoint } from './trainer.js';
