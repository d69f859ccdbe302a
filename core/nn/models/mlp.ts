// 'mlp': the image's pixelsPerImage(geometry) values (784 for 28x28 grey) -> dense ReLU layers of
// widths `hidden` (the trunk; features = the last width, or the pixels without hidden layers).
import { pixelsPerImage } from '../../image/geometry.js';
import { denseRelu, denseShapes, fusedDense, glorotUniform, type ModelDefinition, type ModelSpec } from './definition.js';

const trunkShapes = (spec: ModelSpec) => denseShapes([pixelsPerImage(spec.geometry), ...spec.hidden]);

export const mlp: ModelDefinition = {
  trunkShapes,
  trunkFeatures: (spec) => (spec.hidden.length ? spec.hidden[spec.hidden.length - 1]! : pixelsPerImage(spec.geometry)),
  initTrunk: (spec, rng) => glorotUniform(trunkShapes(spec), rng),
  stateShapes: () => [],
  initState: () => [],
  trunk: (x, weights) => denseRelu(x, weights),
  fusedTrunk: (x, weights) => fusedDense(x, weights),
};
