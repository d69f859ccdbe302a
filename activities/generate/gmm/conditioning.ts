// The conditional mixture weights of a prompt: its class weights times each class's component
// weights, tilted within the class by the prompt's attributes.
import { ATTRIBUTE_NAMES, ATTRIBUTE_STRENGTH, type GmmGeneratorModel, type PromptAttributes } from './model.js';
import { prepare, type Prepared } from './prepared.js';

/** The conditional mixture weights the sampler uses for (classWeights, attributes); for inspection and tests. */
export function conditionalComponentWeights(model: GmmGeneratorModel, classWeights: Float64Array, attributes: PromptAttributes | null = null): Float64Array {
  return conditionalLogWeights(model, prepare(model), classWeights, attributes).map((v) => Math.exp(v));
}

/**
 * log of the conditional component weights: classWeights[class(k)] * pi_{k|class}, tilted within
 * each class by the prompt's attributes (renormalized per class, so class weights are unchanged).
 */
export function conditionalLogWeights(
  model: GmmGeneratorModel,
  ready: Prepared,
  classWeights: Float64Array,
  attributes: PromptAttributes | null = null,
): Float64Array {
  if (classWeights.length !== ready.C) {
    throw new RangeError(`classWeights has ${classWeights.length} entries, the model has ${ready.C} classes`);
  }
  let total = 0;
  for (const w of classWeights) {
    if (!Number.isFinite(w) || w < 0) throw new RangeError(`classWeights must be finite and non-negative, got ${w}`);
    total += w;
  }
  if (!(total > 0)) throw new RangeError('classWeights must have a positive entry (use null for unconditional)');
  const out = new Float64Array(ready.K);
  const within = Float64Array.from(model.componentWeight);
  if (attributes) {
    for (const a of ATTRIBUTE_NAMES) {
      const v = attributes[a];
      if (!Number.isFinite(v) || v < -1 || v > 1) throw new RangeError(`attribute ${a} must be in [-1, 1], got ${v}`);
    }
    const perClass = new Float64Array(ready.C);
    for (let k = 0; k < ready.K; k++) {
      const z = ready.featureZ;
      const tilt = attributes.brightness * z[k * 3]! + attributes.size * z[k * 3 + 1]! + attributes.texture * z[k * 3 + 2]!;
      within[k] = within[k]! * Math.exp(ATTRIBUTE_STRENGTH * tilt);
      const c = model.componentClass[k]!;
      perClass[c] = perClass[c]! + within[k]!;
    }
    for (let k = 0; k < ready.K; k++) within[k] = within[k]! / perClass[model.componentClass[k]!]!;
  }
  for (let k = 0; k < ready.K; k++) {
    const w = (classWeights[model.componentClass[k]!]! / total) * within[k]!;
    out[k] = w > 0 ? Math.log(w) : -Infinity;
  }
  return out;
}
