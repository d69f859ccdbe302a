// The classifier as plain data: construction, validation and its binary format (magic 'SSCM' in
// the container of container.ts). Decoders treat the bytes as untrusted.
// The header records what the model reads and predicts: inputSize and classes (always), the
// geometry (only when it is not 28x28 grey: a header without one is read as 28x28 grey, so the
// bytes of every model from before geometries, and of every 28x28 grey model since, are
// unchanged), the ResNet's depth and width, and the shapes of its non-trained state (batch norm
// statistics), whose float32 sections follow the weights'.
import * as tf from '@tensorflow/tfjs';
import { checkGeometry, pixelsPerImage, sameGeometry, type ImageGeometry } from '../image/geometry.js';
import { createRng } from '../rng.js';
import { CorruptModelError, readContainer, readFloatSections, writeContainer } from './container.js';
import { DEFAULT_GEOMETRY } from './input.js';
import { DEFAULT_RESNET, modelSpec, sizeOf, type ModelInput, type ModelSpec, type ResNetShape } from './models/definition.js';
import { checkHidden, MAX_CLASSES, MAX_PARAMS } from './models/limits.js';
import { initialState, initialWeights, MODEL_ARCHS, modelShapes, stateShapes, weightShapes, type ModelArch } from './models/registry.js';
import { checkResNetShape, RESNET_INPUT_MEAN, RESNET_INPUT_STD } from './models/resnet.js';

export const MODEL_FORMAT_VERSION = 1;

export const MAX_HEADER_BYTES = 1 << 16;
const MODEL_MAGIC = 'SSCM';

/** A trained model as plain data (no tensors: safe to keep, compare, serialize). */
export interface SerializedClassifier {
  format: typeof MODEL_FORMAT_VERSION;
  arch: ModelArch;
  /** Floats per image: pixelsPerImage(geometry). */
  inputSize: number;
  classes: number;
  /** Dense hidden widths ([] for the ResNet). */
  hidden: number[];
  /** The images it reads (28x28 grey for models from before geometries). */
  geometry: ImageGeometry;
  /** The ResNet's depth and width (arch 'resnet' only). */
  resnet?: ResNetShape;
  /**
   * [kernel0, bias0, kernel1, bias1, ...]; a dense kernel is row-major [fanIn, fanOut], a conv
   * kernel row-major [KH, KW, inChannels, filters]. See `modelShapes`.
   */
  weights: Float32Array[];
  /** Non-trained state in `stateShapes` order (the ResNet's running means and variances); absent for models without. */
  state?: Float32Array[];
}

/** What decides the model's shapes. */
export function specOf(model: Pick<SerializedClassifier, 'hidden' | 'geometry' | 'classes' | 'resnet'>): ModelSpec {
  return modelSpec(model.hidden, { geometry: model.geometry, classes: model.classes, ...(model.resnet ? { resnet: model.resnet } : {}) });
}

/** Options of a model beyond its arch and hidden widths (defaults: 28x28 grey, 10 classes, ResNet-20 width 16). */
export type ClassifierOptions = Partial<ModelInput> & { resnet?: ResNetShape };

/** The model of `arch` with `hidden` and `weights` (and `state`, for a model that has one). */
export function classifierWith(
  arch: ModelArch,
  hidden: readonly number[],
  weights: Float32Array[],
  opts: ClassifierOptions = {},
  state?: Float32Array[],
): SerializedClassifier {
  const geometry = opts.geometry ?? DEFAULT_GEOMETRY;
  const model: SerializedClassifier = {
    format: MODEL_FORMAT_VERSION,
    arch,
    inputSize: pixelsPerImage(geometry),
    classes: opts.classes ?? 10,
    hidden: arch === 'resnet' ? [] : [...hidden],
    geometry: { size: geometry.size, channels: geometry.channels },
    weights,
  };
  if (arch === 'resnet') {
    const resnet = opts.resnet ?? DEFAULT_RESNET;
    checkResNetShape(resnet, 'classifier');
    model.resnet = { depth: resnet.depth, width: resnet.width };
  }
  if (state && state.length > 0) model.state = state;
  return model;
}

/**
 * Initial weights from createRng(`${seed}|init`): Glorot-uniform kernels and zero biases (mlp,
 * cnn; a conv kernel [KH, KW, C, F] has fanIn KH*KW*C and fanOut KH*KW*F, as Keras), He-normal
 * conv kernels and unit batch norm (resnet, models/resnet.ts). `opts`: geometry, classes, the
 * ResNet's shape.
 */
export function initialClassifier(hidden: readonly number[], seed: number | string, arch: ModelArch = 'mlp', opts: ClassifierOptions = {}): SerializedClassifier {
  const shell = classifierWith(arch, hidden, [], opts);
  const spec = specOf(shell);
  return classifierWith(arch, hidden, initialWeights(arch, spec, createRng(`${seed}|init`)), opts, initialState(arch, spec));
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

function checkArrays(what: string, arrays: unknown, shapes: number[][]): void {
  const list = arrays as Float32Array[] | undefined;
  if (!Array.isArray(list) || list.length !== shapes.length) throw new CorruptModelError(`model: expected ${shapes.length} ${what} arrays, got ${list?.length}`);
  list.forEach((w, i) => {
    const size = sizeOf(shapes[i]!);
    if (!(w instanceof Float32Array) || w.length !== size) {
      throw new CorruptModelError(`model: ${what} ${i} should be a Float32Array of ${size} values (shape ${JSON.stringify(shapes[i])})`);
    }
  });
}

/** Throws CorruptModelError unless `model`'s architecture, weight and state sizes are consistent. */
export function checkClassifier(model: SerializedClassifier): void {
  const { shapes, stateShapes: states } = validateArch(model, 'model');
  checkArrays('weight', model.weights, shapes);
  checkArrays('state', model.state ?? [], states);
}

/** What a model header (or model) says: its spec, weight shapes and state shapes. */
export interface ValidatedArch {
  arch: ModelArch;
  spec: ModelSpec;
  shapes: number[][];
  stateShapes: number[][];
}

/** Checks a model header (or model); returns its spec and shapes. */
export function validateArch(h: Record<string, unknown> | SerializedClassifier, what: string): ValidatedArch {
  const header = h as Record<string, unknown>;
  if (header.format !== MODEL_FORMAT_VERSION) {
    throw new CorruptModelError(`${what}: unsupported format version ${JSON.stringify(header.format)} (this code reads ${MODEL_FORMAT_VERSION})`);
  }
  const arch = header.arch as ModelArch;
  if (!MODEL_ARCHS.includes(arch)) throw new CorruptModelError(`${what}: unsupported arch ${JSON.stringify(header.arch)}`);
  const geometry = header.geometry === undefined ? DEFAULT_GEOMETRY : (header.geometry as ImageGeometry);
  try {
    checkGeometry(geometry, `${what} geometry`);
  } catch (err) {
    throw new CorruptModelError((err as Error).message);
  }
  if (header.inputSize !== pixelsPerImage(geometry)) {
    throw new CorruptModelError(`${what}: inputSize ${JSON.stringify(header.inputSize)}, expected ${pixelsPerImage(geometry)} for ${geometry.size}x${geometry.size}x${geometry.channels}`);
  }
  const classes = header.classes;
  if (!Number.isInteger(classes) || (classes as number) < 2 || (classes as number) > MAX_CLASSES) {
    throw new CorruptModelError(`${what}: classes ${JSON.stringify(classes)}, expected an integer in [2, ${MAX_CLASSES}]`);
  }
  const hidden = header.hidden;
  checkHidden(hidden, what);
  if (arch === 'resnet') {
    checkResNetShape(header.resnet, what, CorruptModelError);
    if (hidden.length > 0) throw new CorruptModelError(`${what}: a resnet has no hidden widths, got ${JSON.stringify(hidden)}`);
  } else if (header.resnet !== undefined) {
    throw new CorruptModelError(`${what}: resnet shape given for arch '${arch}'`);
  }
  const spec = modelSpec(hidden, { geometry, classes: classes as number, ...(arch === 'resnet' ? { resnet: header.resnet as ResNetShape } : {}) });
  const shapes = modelShapes(arch, spec);
  const states = stateShapes(arch, spec);
  const params = totalFloats(shapes) + totalFloats(states);
  if (params > MAX_PARAMS) throw new CorruptModelError(`${what}: ${params} parameters exceeds the limit of ${MAX_PARAMS}`);
  return { arch, spec, shapes, stateShapes: states };
}

export function totalFloats(shapes: number[][]): number {
  return shapes.reduce((sum, s) => sum + sizeOf(s), 0);
}

export function modelHeader(model: SerializedClassifier) {
  const spec = specOf(model);
  const states = stateShapes(model.arch, spec);
  return {
    format: model.format,
    arch: model.arch,
    inputSize: model.inputSize,
    classes: model.classes,
    hidden: model.hidden,
    shapes: modelShapes(model.arch, spec),
    preprocessing: model.arch === 'resnet' ? `pixel/255, then (x - ${RESNET_INPUT_MEAN}) / ${RESNET_INPUT_STD} per channel` : 'pixel/255',
    ...(sameGeometry(model.geometry, DEFAULT_GEOMETRY) ? {} : { geometry: { size: model.geometry.size, channels: model.geometry.channels } }),
    ...(model.resnet ? { resnet: { depth: model.resnet.depth, width: model.resnet.width } } : {}),
    ...(states.length ? { stateShapes: states } : {}),
  };
}

/** Checks a header's recorded shapes against what its arch and spec give. */
export function checkHeaderShapes(header: Record<string, unknown>, read: ValidatedArch, what: string): void {
  const { arch, spec, shapes, stateShapes: states } = read;
  if (JSON.stringify(header.shapes) !== JSON.stringify(shapes)) {
    throw new CorruptModelError(
      `${what}: header shapes ${JSON.stringify(header.shapes)?.slice(0, 200)} do not match arch '${arch}' with hidden ${JSON.stringify(spec.hidden)} (expected ${JSON.stringify(shapes).slice(0, 400)})`,
    );
  }
  if (JSON.stringify(header.stateShapes ?? []) !== JSON.stringify(states)) {
    throw new CorruptModelError(`${what}: header state shapes ${JSON.stringify(header.stateShapes)?.slice(0, 200)} do not match arch '${arch}'`);
  }
}

/** The model of a validated header with its weight and state arrays. */
export function classifierFrom(read: ValidatedArch, weights: Float32Array[], state: Float32Array[]): SerializedClassifier {
  const { arch, spec } = read;
  return classifierWith(arch, spec.hidden, weights, { geometry: spec.geometry, classes: spec.classes, ...(spec.resnet ? { resnet: spec.resnet } : {}) }, state);
}

/** Model -> bytes (magic 'SSCM', JSON header {format, arch, hidden, shapes, ...}, float32 LE weights, then state). */
export function serializeClassifier(model: SerializedClassifier): Uint8Array {
  checkClassifier(model);
  return writeContainer(MODEL_MAGIC, modelHeader(model), [...model.weights, ...(model.state ?? [])], MAX_HEADER_BYTES);
}

/** Bytes -> model; throws CorruptModelError naming the problem for anything malformed. */
export function deserializeClassifier(bytes: Uint8Array): SerializedClassifier {
  const what = 'classifier';
  const { header, view, payloadOffset } = readContainer(bytes, MODEL_MAGIC, what, MAX_HEADER_BYTES);
  const read = validateArch(header, what);
  checkHeaderShapes(header, read, what);
  const sizes = [...read.shapes, ...read.stateShapes].map(sizeOf);
  const expected = payloadOffset + 4 * sizes.reduce((a, b) => a + b, 0);
  if (bytes.length !== expected) throw new CorruptModelError(`${what}: ${bytes.length} bytes, expected ${expected} for hidden ${JSON.stringify(read.spec.hidden)}`);
  const sections = readFloatSections(view, payloadOffset, sizes);
  return classifierFrom(read, sections.slice(0, read.shapes.length), sections.slice(read.shapes.length));
}
