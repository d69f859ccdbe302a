// The denoiser's model as bytes, and the checks a model (fitted or read back) must pass. Layout as
// the Gaussian-mixture model's (../gmm/model-format.ts) under its own magic: "SSDN", u32 LE format
// version, u32 LE header length, UTF-8 JSON header, zero padding to a multiple of 4, then float32
// LE arrays: mean, basis, eigenvalues, then each layer's W and b. Serialization is a function of
// the model alone (fixed key order), so equal models give equal bytes and the stored blob can be
// content-addressed. ~840 KB at 28x28 grey with 48 dims and hidden [256, 256, 256].
import { readContainerHeader } from '../model-container.js';
import { checkGeometry, geometryLabel, pixelsPerImage, type ImageGeometry } from '../../../core/image/geometry.js';
import { DENOISER_FORMAT_VERSION, DenoiserModelFormatError, layerShapes, weightSizes, type DenoiserGeneratorModel, type DenoiserTrainingRecord } from './model.js';

const MAGIC = [0x53, 0x53, 0x44, 0x4e] as const; // "SSDN"
const MAX_HEADER_BYTES = 4 * 1024 * 1024;
/** Bounds on what a model may hold (a stored blob is untrusted input). */
const MAX_LAYERS = 16;
const MAX_WIDTH = 8192;
const MAX_PCA_DIMS = 1024;
const MAX_FLOATS = 64 * 1024 * 1024;

function fail(message: string): never {
  throw new DenoiserModelFormatError(`denoiser generator model: ${message}`);
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

const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** Throws DenoiserModelFormatError unless the header fields are in range (shared by validate and deserialize). */
function checkHeaderFields(m: Partial<Record<keyof DenoiserGeneratorModel, unknown>>): void {
  if (typeof m.codeVersion !== 'string' || m.codeVersion.length > 200) fail('codeVersion is not a string');
  const geometry = checkModelGeometry(m.geometry);
  if (m.pixels !== pixelsPerImage(geometry)) fail(`pixels is ${String(m.pixels)}, expected ${pixelsPerImage(geometry)} for ${geometryLabel(geometry)}`);
  if (!isInt(m.pcaDims, 1, Math.min(m.pixels, MAX_PCA_DIMS))) fail(`pcaDims ${String(m.pcaDims)} is out of range`);
  if (!Array.isArray(m.classes) || m.classes.length < 1 || m.classes.length > 65535) fail('classes must be a non-empty array');
  for (const c of m.classes) if (typeof c !== 'string' || c.length > 1000) fail('class names must be strings');
  if (!isInt(m.fitSeed, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) fail('fitSeed is not an integer');
  if (!isInt(m.trainCount, 0, Number.MAX_SAFE_INTEGER)) fail('trainCount is not a non-negative integer');
  if (typeof m.explainedVariance !== 'number' || !(m.explainedVariance >= 0 && m.explainedVariance <= 1)) fail('explainedVariance is not in [0, 1]');
  if (!Array.isArray(m.hidden) || m.hidden.length < 1 || m.hidden.length > MAX_LAYERS || !m.hidden.every((h) => isInt(h, 1, MAX_WIDTH))) {
    fail(`hidden must be 1..${MAX_LAYERS} widths in 1..${MAX_WIDTH}`);
  }
  if (!isInt(m.timeEmbedDims, 2, 1024) || m.timeEmbedDims % 2 !== 0) fail('timeEmbedDims must be an even integer in 2..1024');
  const t = m.training as Partial<Record<keyof DenoiserTrainingRecord, unknown>> | undefined;
  if (!t || typeof t !== 'object') fail('training record is missing');
  if (!isInt(t.steps, 1, Number.MAX_SAFE_INTEGER) || !isInt(t.batchSize, 1, Number.MAX_SAFE_INTEGER)) fail('training steps/batchSize are malformed');
  for (const k of ['learningRate', 'condDropout', 'finalLoss'] as const) {
    if (typeof t[k] !== 'number' || !Number.isFinite(t[k]) || (t[k] as number) < 0) fail(`training ${k} is malformed`);
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

/** The float arrays' lengths, in stored order, for the header's shapes (bounded). */
function arraySizes(m: Pick<DenoiserGeneratorModel, 'pixels' | 'pcaDims' | 'timeEmbedDims' | 'classes' | 'hidden'>): number[] {
  const sizes = [m.pixels, m.pcaDims * m.pixels, m.pcaDims, ...weightSizes(layerShapes(m.pcaDims, m.timeEmbedDims, m.classes.length, m.hidden))];
  const total = sizes.reduce((s, x) => s + x, 0);
  if (total > MAX_FLOATS) fail(`${total} values exceed the bound of ${MAX_FLOATS}`);
  return sizes;
}

/** Throws DenoiserModelFormatError unless the model's shapes and values are consistent and finite. */
export function validateDenoiserModel(model: DenoiserGeneratorModel): void {
  if (typeof model !== 'object' || model === null) fail('not an object');
  if (model.formatVersion !== DENOISER_FORMAT_VERSION) fail(`format version ${model.formatVersion}, expected ${DENOISER_FORMAT_VERSION}`);
  checkHeaderFields(model);
  const [P, DP, D, ...weights] = arraySizes(model);
  checkFloats('mean', model.mean, P!, (v) => Math.abs(v) <= 1.0001);
  checkFloats('basis', model.basis, DP!);
  checkFloats('eigenvalues', model.eigenvalues, D!, (v) => v >= 0);
  if (!Array.isArray(model.weights) || model.weights.length !== weights.length) fail(`${model.weights?.length} weight arrays, expected ${weights.length}`);
  weights.forEach((n, i) => checkFloats(`weights[${i}]`, model.weights[i], n));
  for (let d = 0; d < D!; d++) {
    let norm = 0;
    for (let p = 0; p < P!; p++) norm += model.basis[d * P! + p]! ** 2;
    if (Math.abs(norm - 1) > 1e-3) fail(`basis row ${d} has norm^2 ${norm}, expected 1`);
  }
}

type ModelHeader = { format: 'synthscale-denoiser' } & Omit<DenoiserGeneratorModel, 'mean' | 'basis' | 'eigenvalues' | 'weights'>;

export function serializeDenoiserModel(model: DenoiserGeneratorModel): Uint8Array {
  validateDenoiserModel(model);
  const { training: t, geometry: g } = model;
  const header: ModelHeader = {
    format: 'synthscale-denoiser',
    formatVersion: model.formatVersion,
    codeVersion: model.codeVersion,
    classes: model.classes,
    geometry: { size: g.size, channels: g.channels },
    pixels: model.pixels,
    pcaDims: model.pcaDims,
    fitSeed: model.fitSeed,
    trainCount: model.trainCount,
    explainedVariance: model.explainedVariance,
    hidden: model.hidden,
    timeEmbedDims: model.timeEmbedDims,
    training: { steps: t.steps, batchSize: t.batchSize, learningRate: t.learningRate, condDropout: t.condDropout, finalLoss: t.finalLoss },
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  if (headerBytes.length > MAX_HEADER_BYTES) fail(`header of ${headerBytes.length} bytes exceeds ${MAX_HEADER_BYTES}`);
  const dataStart = align4(12 + headerBytes.length);
  const arrays = [model.mean, model.basis, model.eigenvalues, ...model.weights];
  const floats = arrays.reduce((s, a) => s + a.length, 0);
  const out = new Uint8Array(dataStart + floats * 4);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(4, DENOISER_FORMAT_VERSION, true);
  view.setUint32(8, headerBytes.length, true);
  out.set(headerBytes, 12);
  let off = dataStart;
  for (const arr of arrays) for (let i = 0; i < arr.length; i++, off += 4) view.setFloat32(off, arr[i]!, true);
  return out;
}

function align4(x: number): number {
  return (x + 3) & ~3;
}

/** Parse and validate a serialized model (untrusted input): throws DenoiserModelFormatError when malformed. */
export function deserializeDenoiserModel(bytes: Uint8Array): DenoiserGeneratorModel {
  const { header: raw, view, dataStart } = readContainerHeader(bytes, { magic: MAGIC, version: DENOISER_FORMAT_VERSION, what: 'denoiser', maxHeaderBytes: MAX_HEADER_BYTES, fail });
  const h = raw as Partial<ModelHeader>;
  if (h.format !== 'synthscale-denoiser') fail(`header format is ${JSON.stringify(h.format)}`);
  if (h.formatVersion !== DENOISER_FORMAT_VERSION) fail('header format version does not match');
  checkHeaderFields(h);
  const head = h as ModelHeader;
  const sizes = arraySizes(head);
  const expected = dataStart + 4 * sizes.reduce((s, x) => s + x, 0);
  if (bytes.length !== expected) fail(`${bytes.length} bytes, expected ${expected}`);
  let off = dataStart;
  const [mean, basis, eigenvalues, ...weights] = sizes.map((len) => {
    const arr = new Float32Array(len);
    for (let i = 0; i < len; i++, off += 4) arr[i] = view.getFloat32(off, true);
    return arr;
  });
  const { training: t, geometry: g } = head;
  const model: DenoiserGeneratorModel = {
    formatVersion: DENOISER_FORMAT_VERSION,
    codeVersion: head.codeVersion,
    classes: [...head.classes],
    geometry: { size: g.size, channels: g.channels },
    pixels: head.pixels,
    pcaDims: head.pcaDims,
    fitSeed: head.fitSeed,
    trainCount: head.trainCount,
    explainedVariance: head.explainedVariance,
    mean: mean!,
    basis: basis!,
    eigenvalues: eigenvalues!,
    hidden: [...head.hidden],
    timeEmbedDims: head.timeEmbedDims,
    training: { steps: t.steps, batchSize: t.batchSize, learningRate: t.learningRate, condDropout: t.condDropout, finalLoss: t.finalLoss },
    weights,
  };
  validateDenoiserModel(model);
  return model;
}
