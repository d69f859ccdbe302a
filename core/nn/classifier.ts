// The classifier trained in every sweep cell: its public surface, gathered from the modules that
// hold it. Architectures (`arch`, models/registry.ts): 'mlp' (models/mlp.ts), 'cnn'
// (models/cnn.ts) and 'resnet' (models/resnet.ts), each a trunk followed by a linear head with one
// output per class. Weights are always a flat list of Float32Arrays whose shapes follow from the
// arch and the model's spec (hidden widths, the ResNet's depth and width, the input geometry, the
// class count: modelShapes); the ResNet also has non-trained state (batch norm statistics).
//  - classifier-model.ts: the model as plain data, initial weights, its binary format;
//  - classifier-train.ts: training (trainer.ts's loop: its reproducibility contract is there);
//  - classifier-checkpoint.ts: training checkpoints;
//  - input.ts / augment.ts / loss.ts: preprocessing, training-time augmentation and the cross-entropy.
export { CorruptModelError } from './container.js';
export { DEFAULT_GEOMETRY, IMAGE_SIDE, INPUT_SIZE, NUM_CLASSES, preprocess } from './input.js';
export { augmentationFor, preprocessAugmented, RESNET_AUGMENTATION, type Augmentation } from './augment.js';
export { meanSoftmaxCrossEntropy } from './loss.js';
export { CNN_FEATURES, CNN_FILTERS, cnnFeatures } from './models/cnn.js';
export { DEFAULT_RESNET, modelSpec, type ModelInput, type ModelSpec, type ResNetShape } from './models/definition.js';
export { classifierLogits, MODEL_ARCHS, modelShapes, stateShapes, weightShapes, type ModelArch } from './models/registry.js';
export {
  checkClassifier,
  deserializeClassifier,
  initialClassifier,
  MODEL_FORMAT_VERSION,
  serializeClassifier,
  specOf,
  toLayersModel,
  type ClassifierOptions,
  type SerializedClassifier,
} from './classifier-model.js';
export { CHECKPOINT_FORMAT_VERSION, decodeCheckpoint, encodeCheckpoint, type CheckpointState, type RunFingerprint } from './classifier-checkpoint.js';
export {
  exampleShape,
  trainClassifier,
  type ExampleShape,
  type TrainingData,
  type TrainingRecipe,
  type TrainingStream,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
} from './classifier-train.js';
export { CheckpointMismatchError, trainingSteps, type Checkpoint } from './trainer.js';
