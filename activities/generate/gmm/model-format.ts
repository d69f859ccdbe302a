// The embedded generator's model as bytes, and the checks a model (fitted or read back) must pass.
// The header records the geometry only when it is not 28x28 grey, so models fitted at 28x28 grey
// serialize to the bytes they had before geometries (and models from then read as 28x28 grey).
import { readContainerHeader } from '../model-container.js';
import { checkGeometry, FASHION_MNIST_GEOMETRY, geometryLabel, pixelsPerImage, sameGeometry, type ImageGeometry } from '../../../core/image/geometry.js';
import { GMM_FORMAT_VERSION, GmmModelFormatError, type GmmGeneratorModel } from './model.js';

const MAGIC = [0x53, 0x53, 0x47, 0x4d] as const; // "SSGM"

function fail(message: string): never {
  throw new GmmModelFormatError(`GMM generator model: ${message}`);
}

function checkFloats(name: string, arr: unknown, length: number, check?: (v: number) => boolean): void {
  if (!(arr instanceof Float32Array)) fail(`${name} is not a Float32Array`);
  if (arr.length !== length) fail(`${name} has ${arr.length} values, expected ${length}`);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i]!;
    if (!Number.isFinite(v)) fail(`${name}[${i}] is not finite (${v})`);
    if (check && !check(v)) fail(`${name}[${i}] = ${v} is out of range`);
  }
}

/** Throws GmmModelFormatError unless the model's shapes and values are consistent and finite. */
export function validateGmmModel(model: GmmGeneratorModel): void {
  if (typeof model !== 'object' || model === null) fail('not an object');
  if (model.formatVersion !== GMM_FORMAT_VERSION) fail(`format version ${model.formatVersion}, expected ${GMM_FORMAT_VERSION}`);
  if (typeof model.codeVersion !== 'string') fail('codeVersion is not a string');
  const geometry = checkModelGeometry(model.geometry);
  if (model.pixels !== pixelsPerImage(geometry)) fail(`pixels is ${model.pixels}, expected ${pixelsPerImage(geometry)} for ${geometryLabel(geometry)}`);
  const P = model.pixels;
  const D = model.pcaDims;
  if (!Number.isInteger(D) || D < 1 || D > P) fail(`pcaDims ${D} is not an integer in 1..${P}`);
  if (!Array.isArray(model.classes) || model.classes.length < 1 || model.classes.length > 65535) fail('classes must be a non-empty array');
  for (const c of model.classes) if (typeof c !== 'string' || c.length > 1000) fail('class names must be strings');
  const C = model.classes.length;
  if (!Number.isInteger(model.componentsPerClass) || model.componentsPerClass < 1 || model.componentsPerClass > 65535) {
    fail(`componentsPerClass ${model.componentsPerClass} is not a positive integer`);
  }
  if (!Number.isInteger(model.fitSeed)) fail('fitSeed is not an integer');
  if (!Number.isInteger(model.trainCount) || model.trainCount < 0) fail('trainCount is not a non-negative integer');
  if (!(model.explainedVariance >= 0 && model.explainedVariance <= 1)) fail('explainedVariance is not in [0, 1]');
  if (!(model.componentClass instanceof Uint16Array)) fail('componentClass is not a Uint16Array');
  const K = model.componentClass.length;
  if (K < C || K > C * model.componentsPerClass) fail(`${K} components for ${C} classes of at most ${model.componentsPerClass}`);
  checkFloats('mean', model.mean, P, (v) => Math.abs(v) <= 1.0001);
  checkFloats('basis', model.basis, D * P);
  checkFloats('eigenvalues', model.eigenvalues, D, (v) => v >= 0);
  checkFloats('classPrior', model.classPrior, C, (v) => v >= 0 && v <= 1);
  checkFloats('componentWeight', model.componentWeight, K, (v) => v >= 0 && v <= 1);
  checkFloats('componentMean', model.componentMean, K * D);
  checkFloats('componentVar', model.componentVar, K * D, (v) => v > 0);
  for (let d = 0; d < D; d++) {
    let norm = 0;
    for (let p = 0; p < P; p++) norm += model.basis[d * P + p]! ** 2;
    if (Math.abs(norm - 1) > 1e-3) fail(`basis row ${d} has norm^2 ${norm}, expected 1`);
  }
  let priorSum = 0;
  for (const v of model.classPrior) priorSum += v;
  if (Math.abs(priorSum - 1) > 1e-3) fail(`classPrior sums to ${priorSum}, expected 1`);
  const weightSum = new Float64Array(C);
  const perClass = new Uint32Array(C);
  for (let k = 0; k < K; k++) {
    const c = model.componentClass[k]!;
    if (c >= C) fail(`componentClass[${k}] = ${c} is out of range`);
    if (k > 0 && c < model.componentClass[k - 1]!) fail('components are not grouped by class');
    weightSum[c]! += model.componentWeight[k]!;
    perClass[c]! += 1;
  }
  for (let c = 0; c < C; c++) {
    if (perClass[c] === 0) fail(`class "${model.classes[c]}" has no components`);
    if (perClass[c]! > model.componentsPerClass) fail(`class "${model.classes[c]}" has ${perClass[c]} components`);
    if (Math.abs(weightSum[c]! - 1) > 1e-3) fail(`component weights of class "${model.classes[c]}" sum to ${weightSum[c]}`);
  }
}

function checkModelGeometry(geometry: unknown): ImageGeometry {
  const g = geometry as Partial<ImageGeometry> | null;
  if (!g || typeof g !== 'object' || typeof g.size !== 'number' || (g.channels !== 1 && g.channels !== 3)) fail('geometry must be { size, channels: 1 | 3 }');
  try {
    return checkGeometry({ size: g.size, channels: g.channels }, 'geometry');
  } catch (err) {
    fail((err as Error).message);
  }
}

/** The JSON header: the model's scalar fields and its components' classes (geometry only when not 28x28 grey). */
type ModelHeader = { format: 'synthscale-gmm' } & Pick<
  GmmGeneratorModel,
  'formatVersion' | 'codeVersion' | 'classes' | 'pixels' | 'pcaDims' | 'componentsPerClass' | 'fitSeed' | 'trainCount' | 'explainedVariance'
> & { componentClass: number[]; geometry?: ImageGeometry };

const MAX_HEADER_BYTES = 4 * 1024 * 1024;

/**
 * Layout: "SSGM", u32 LE format version, u32 LE header length, UTF-8 JSON header, zero padding to a
 * multiple of 4, then float32 LE arrays: mean, basis, eigenvalues, classPrior, componentWeight,
 * componentMean, componentVar. (~160 KB for 48 dims and 120 components.)
 */
export function serializeGmmModel(model: GmmGeneratorModel): Uint8Array {
  validateGmmModel(model);
  const header: ModelHeader = {
    format: 'synthscale-gmm',
    formatVersion: model.formatVersion,
    codeVersion: model.codeVersion,
    classes: model.classes,
    pixels: model.pixels,
    pcaDims: model.pcaDims,
    componentsPerClass: model.componentsPerClass,
    fitSeed: model.fitSeed,
    trainCount: model.trainCount,
    explainedVariance: model.explainedVariance,
    componentClass: Array.from(model.componentClass),
    ...(sameGeometry(model.geometry, FASHION_MNIST_GEOMETRY) ? {} : { geometry: { size: model.geometry.size, channels: model.geometry.channels } }),
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = align4(12 + headerBytes.length);
  const arrays = [model.mean, model.basis, model.eigenvalues, model.classPrior, model.componentWeight, model.componentMean, model.componentVar];
  const floats = arrays.reduce((s, a) => s + a.length, 0);
  const out = new Uint8Array(dataStart + floats * 4);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(4, GMM_FORMAT_VERSION, true);
  view.setUint32(8, headerBytes.length, true);
  out.set(headerBytes, 12);
  let off = dataStart;
  for (const arr of arrays) {
    for (let i = 0; i < arr.length; i++, off += 4) view.setFloat32(off, arr[i]!, true);
  }
  return out;
}

function align4(x: number): number {
  return (x + 3) & ~3;
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** Parse and validate a serialized model (untrusted input): throws GmmModelFormatError when malformed. */
export function deserializeGmmModel(bytes: Uint8Array): GmmGeneratorModel {
  const { header: raw, view, dataStart } = readContainerHeader(bytes, { magic: MAGIC, version: GMM_FORMAT_VERSION, what: 'GMM', maxHeaderBytes: MAX_HEADER_BYTES, fail });
  const h = raw as Partial<Record<keyof ModelHeader, unknown>>;
  if (h.format !== 'synthscale-gmm') fail(`header format is ${JSON.stringify(h.format)}`);
  if (h.formatVersion !== GMM_FORMAT_VERSION) fail('header format version does not match');
  if (typeof h.codeVersion !== 'string' || h.codeVersion.length > 200) fail('header codeVersion is not a string');
  const geometry = h.geometry === undefined ? FASHION_MNIST_GEOMETRY : checkModelGeometry(h.geometry);
  const pixels = pixelsPerImage(geometry);
  if (!isInt(h.pixels, 1, 1 << 24) || h.pixels !== pixels) fail(`header pixels is ${String(h.pixels)}, expected ${pixels} for ${geometryLabel(geometry)}`);
  if (!isInt(h.pcaDims, 1, h.pixels)) fail(`header pcaDims ${String(h.pcaDims)} is out of range`);
  if (!Array.isArray(h.classes) || h.classes.length < 1 || h.classes.length > 65535 || !h.classes.every((c) => typeof c === 'string')) {
    fail('header classes must be a non-empty array of strings');
  }
  if (!isInt(h.componentsPerClass, 1, 65535)) fail('header componentsPerClass is out of range');
  if (!isInt(h.fitSeed, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) fail('header fitSeed is not an integer');
  if (!isInt(h.trainCount, 0, Number.MAX_SAFE_INTEGER)) fail('header trainCount is not a non-negative integer');
  if (typeof h.explainedVariance !== 'number') fail('header explainedVariance is not a number');
  const classes = h.classes as string[];
  const C = classes.length;
  if (!Array.isArray(h.componentClass) || h.componentClass.length < C || h.componentClass.length > C * h.componentsPerClass) {
    fail('header componentClass has the wrong length');
  }
  if (!h.componentClass.every((c) => isInt(c, 0, C - 1))) fail('header componentClass has an out-of-range class');
  const componentClass = Uint16Array.from(h.componentClass as number[]);
  const P = h.pixels;
  const D = h.pcaDims;
  const K = componentClass.length;
  const sizes = [P, D * P, D, C, K, K * D, K * D];
  const floats = sizes.reduce((s, x) => s + x, 0);
  if (bytes.length !== dataStart + floats * 4) {
    fail(`${bytes.length} bytes, expected ${dataStart + floats * 4} for ${D} dims, ${C} classes and ${K} components`);
  }
  let off = dataStart;
  const arrays = sizes.map((len) => {
    const arr = new Float32Array(len);
    for (let i = 0; i < len; i++, off += 4) arr[i] = view.getFloat32(off, true);
    return arr;
  });
  const [mean, basis, eigenvalues, classPrior, componentWeight, componentMean, componentVar] = arrays as [
    Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array,
  ];
  const model: GmmGeneratorModel = {
    formatVersion: GMM_FORMAT_VERSION,
    codeVersion: h.codeVersion,
    classes,
    geometry,
    pixels: P,
    pcaDims: D,
    componentsPerClass: h.componentsPerClass,
    fitSeed: h.fitSeed,
    trainCount: h.trainCount,
    explainedVariance: h.explainedVariance,
    mean,
    basis,
    eigenvalues,
    classPrior,
    componentClass,
    componentWeight,
    componentMean,
    componentVar,
  };
  validateGmmModel(model);
  return model;
}
