// 'mlp': 784 -> dense ReLU layers of widths `hidden` (the trunk; features = the last width, or the
// 784 pixels without hidden layers).
import { INPUT_SIZE } from '../input.js';
import { denseRelu, denseShapes, fusedDense, glorotUniform, type ModelDefinition } from './definition.js';

const trunkShapes = (hidden: readonly number[]) => denseShapes([INPUT_SIZE, ...hidden]);

export const mlp: ModelDefinition = {
  trunkShapes,
  trunkFeatures: (hidden) => (hidden.length ? hidden[hidden.length - 1]! : INPUT_SIZE),
  initTrunk: (hidden, rng) => glorotUniform(trunkShapes(hidden), rng),
  trunk: (x, weights) => denseRelu(x, weights),
  fusedTrunk: (x, weights) => fusedDense(x, weights),
};
