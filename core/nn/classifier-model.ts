// The classifier as plain data: construction, validation and its binary format (magic 'SSCM' in
// the container of container.ts). Decoders treat the bytes as untrusted.
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../rng.js';
import { CorruptModelError, readContainer, readFloatSections, writeContainer } from './container.js';
import { INPUT_SIZE, NUM_CLASSES } from './input.js';
import { sizeOf } from './models/definition.js';
import { checkHidden, MAX_PARAMS } from './models/limits.js';
import { initialWeights, MODEL_ARCHS, modelShapes, weightShapes, type ModelArch } from './models/registry.js';

export const MODEL_FORMAT_VERSION = 1;

export const MAX_HEADER_BYTES = 1 << 16;
const MODEL_MAGIC = 'SSCM';

/** A trained model as plain data (no tensors: safe to keep, compare, serialize). */
export interface SerializedClassifier {
  format: typeof MODEL_FORMAT_VERSION;
  arch: ModelArch;
  inputSize: number;
  classes: number;
  hidden: number[];
  /**
   * [kernel0, bias0, kernel1, bias1, ...]; a dense kernel is row-major [fanIn, fanOut], a conv
   * kernel (cnn: the first two pairs) row-major [KH, KW, inChannels, filters]. See `modelShapes`.
   */
  weights: Float32Array[];
}

/** The model of `arch` with `hidden` and `weights` (the fields every classifier has alike). */
export function classifierWith(arch: ModelArch, hidden: readonly number[], weights: Float32Array[]): SerializedClassifier {
  return { format: MODEL_FORMAT_VERSION, arch, inputSize: INPUT_SIZE, classes: NUM_CLASSES, hidden: [...hidden], weights };
}

/**
 * Glorot-uniform kernels and zero biases from createRng(`${seed}|init`). A conv kernel
 * [KH, KW, C, F] has fanIn KH*KW*C and fanOut KH*KW*F (as Keras).
 */
export function initialClassifier(hidden: readonly number[], seed: number | string, arch: ModelArch = 'mlp'): SerializedClassifier {
  return classifierWith(arch, hidden, initialWeights(arch, hidden, createRng(`${seed}|init`)));
}

/**
 * The TF.js layers MLP for `model` (dense ReLU hidden layers, linear logits) with its weights
 * loaded. The caller owns it: call `.dispose()`.
 */
export function toLayersModel(model: SerializedClassifier): tf.Sequential {
  checkClassifier(model);
  if (model.arch !== 'mlp') throw new Error(`toLayersModel builds MLPs only; this model is a ${model.arch} (use classifierLogits)`);
  const layers = tf.sequential();
  const widths = [...model.hidden, model.classes];
  widths.forEach((units, i) => {
    layers.add(
      tf.layers.dense({
        units,
        activation: i < model.hidden.length ? 'relu' : 'linear',
        kernelInitializer: 'zeros',
        ...(i === 0 ? { inputShape: [model.inputSize] } : {}),
      }),
    );
  });
  const shapes = weightShapes(model.hidden, model.inputSize, model.classes);
  // The layer variables take over the data (ref-counted); the temporary tensors can go.
  tf.tidy(() => layers.setWeights(model.weights.map((w, i) => tf.tensor(w, shapes[i]))));
  return layers;
}

/** Throws CorruptModelError unless `model`'s architecture and weight sizes are consistent. */
export function checkClassifier(model: SerializedClassifier): void {
  validateArch(model, 'model');
  const shapes = modelShapes(model.arch, model.hidden);
  if (!Array.isArray(model.weights) || model.weights.length !== shapes.length) {
    throw new CorruptModelError(`model: expected ${shapes.length} weight arrays, got ${model.weights?.length}`);
  }
  model.weights.forEach((w, i) => {
    const size = sizeOf(shapes[i]!);
    if (!(w instanceof Float32Array) || w.length !== size) {
      throw new CorruptModelError(`model: weight ${i} should be a Float32Array of ${size} values (shape ${JSON.stringify(shapes[i])})`);
    }
  });
}

/** Checks a model header (or model); returns its shapes. */
export function validateArch(h: Record<string, unknown> | SerializedClassifier, what: string): number[][] {
  const header = h as Record<string, unknown>;
  if (header.format !== MODEL_FORMAT_VERSION) {
    throw new CorruptModelError(`${what}: unsupported format version ${JSON.stringify(header.format)} (this code reads ${MODEL_FORMAT_VERSION})`);
  }
  if (!MODEL_ARCHS.includes(header.arch as ModelArch)) throw new CorruptModelError(`${what}: unsupported arch ${JSON.stringify(header.arch)}`);
  if (header.inputSize !== INPUT_SIZE) throw new CorruptModelError(`${what}: inputSize ${JSON.stringify(header.inputSize)}, expected ${INPUT_SIZE}`);
  if (header.classes !== NUM_CLASSES) throw new CorruptModelError(`${what}: classes ${JSON.stringify(header.classes)}, expected ${NUM_CLASSES}`);
  const hidden = header.hidden;
  checkHidden(hidden, what);
  const shapes = modelShapes(header.arch as ModelArch, hidden);
  const params = totalFloats(shapes);
  if (params > MAX_PARAMS) throw new CorruptModelError(`${what}: ${params} parameters exceeds the limit of ${MAX_PARAMS}`);
  return shapes;
}

export function totalFloats(shapes: number[][]): number {
  return shapes.reduce((sum, s) => sum + sizeOf(s), 0);
}

export function modelHeader(model: SerializedClassifier) {
  return {
    format: model.format,
    arch: model.arch,
    inputSize: model.inputSize,
    classes: model.classes,
    hidden: model.hidden,
    shapes: modelShapes(model.arch, model.hidden),
    preprocessing: 'pixel/255',
  };
}

/** Model -> bytes (magic 'SSCM', JSON header {format, arch, hidden, shapes, ...}, float32 LE weights). */
export function serializeClassifier(model: SerializedClassifier): Uint8Array {
  checkClassifier(model);
  return writeContainer(MODEL_MAGIC, modelHeader(model), model.weights, MAX_HEADER_BYTES);
}

/** Bytes -> model; throws CorruptModelError naming the problem for anything malformed. */
export function deserializeClassifier(bytes: Uint8Array): SerializedClassifier {
  const what = 'classifier';
  const { header, view, payloadOffset } = readContainer(bytes, MODEL_MAGIC, what, MAX_HEADER_BYTES);
  const shapes = validateArch(header, what);
  const arch = header.arch as ModelArch;
  const hidden = header.hidden as number[];
  if (JSON.stringify(header.shapes) !== JSON.stringify(shapes)) {
    throw new CorruptModelError(
      `${what}: header shapes ${JSON.stringify(header.shapes)?.slice(0, 200)} do not match arch '${arch}' with hidden ${JSON.stringify(hidden)} (expected ${JSON.stringify(shapes)})`,
    );
  }
  const expected = payloadOffset + 4 * totalFloats(shapes);
  if (bytes.length !== expected) throw new CorruptModelError(`${what}: ${bytes.length} bytes, expected ${expected} for hidden ${JSON.stringify(hidden)}`);
  return classifierWith(arch, hidden, readFloatSections(view, payloadOffset, shapes.map(sizeOf)));
}
