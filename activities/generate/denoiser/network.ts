// The denoiser's MLP on the CPU in plain JS (float64 arithmetic on the float32 weights), for
// sampling: deterministic on every machine and backend, and each row's result depends on that row
// alone, so an item samples to the same bytes whatever batch it is in. Training runs the same
// network in TF.js (train.ts); the two agree to float32 precision.
import { ATTRIBUTE_NAMES, type PromptAttributes } from '../gmm/model.js';
import { conditionDims, layerShapes, type DenoiserGeneratorModel } from './model.js';

export interface DenseLayer {
  inDims: number;
  outDims: number;
  /** [outDims * inDims]: W transposed, so each output's weights are contiguous. */
  wT: Float32Array;
  bias: Float64Array;
}

export interface Network {
  /** PCA dims, time embedding width, condition width, classes. */
  D: number;
  E: number;
  K: number;
  C: number;
  layers: DenseLayer[];
}

const networks = new WeakMap<DenseWeightsOwner, Network>();
type DenseWeightsOwner = Pick<DenoiserGeneratorModel, 'pcaDims' | 'timeEmbedDims' | 'classes' | 'hidden' | 'weights'>;

/** The model's network with transposed weights (cached per model; models are immutable once sampled from). */
export function prepareNetwork(model: DenseWeightsOwner): Network {
  let net = networks.get(model);
  if (net) return net;
  const shapes = layerShapes(model.pcaDims, model.timeEmbedDims, model.classes.length, model.hidden);
  const layers = shapes.map(([inDims, outDims], l) => {
    const w = model.weights[2 * l]!;
    const wT = new Float32Array(inDims * outDims);
    for (let i = 0; i < inDims; i++) for (let o = 0; o < outDims; o++) wT[o * inDims + i] = w[i * outDims + o]!;
    return { inDims, outDims, wT, bias: Float64Array.from(model.weights[2 * l + 1]!) };
  });
  net = { D: model.pcaDims, E: model.timeEmbedDims, K: conditionDims(model.classes.length), C: model.classes.length, layers };
  networks.set(model, net);
  return net;
}

/** The sinusoidal embedding of timestep t: sin(t f_k) then cos(t f_k), f_k = 10000^(-k / (E/2)). */
export function timeEmbedding(t: number, E: number, out: Float64Array | Float32Array, offset = 0): void {
  const half = E / 2;
  for (let k = 0; k < half; k++) {
    const angle = t * Math.exp((-Math.log(10000) * k) / half);
    out[offset + k] = Math.sin(angle);
    out[offset + half + k] = Math.cos(angle);
  }
}

/**
 * The condition vector (conditionDims(C) entries) into out[offset..]: the class weights normalized
 * to sum 1, the attributes (0 when absent), null flag 0; classWeights null: the null condition.
 */
export function conditionVector(
  classWeights: Float64Array | null,
  attributes: PromptAttributes | null,
  C: number,
  out: Float64Array | Float32Array,
  offset = 0,
): void {
  const K = conditionDims(C);
  out.fill(0, offset, offset + K);
  if (classWeights === null) {
    out[offset + K - 1] = 1;
    return;
  }
  if (classWeights.length !== C) throw new RangeError(`classWeights has ${classWeights.length} entries, the model has ${C} classes`);
  let total = 0;
  for (const w of classWeights) {
    if (!Number.isFinite(w) || w < 0) throw new RangeError(`classWeights must be finite and non-negative, got ${w}`);
    total += w;
  }
  if (!(total > 0)) throw new RangeError('classWeights must have a positive entry (use null for unconditional)');
  for (let c = 0; c < C; c++) out[offset + c] = classWeights[c]! / total;
  if (!attributes) return;
  ATTRIBUTE_NAMES.forEach((name, a) => {
    const v = attributes[name];
    if (!Number.isFinite(v) || v < -1 || v > 1) throw new RangeError(`attribute ${name} must be in [-1, 1], got ${v}`);
    out[offset + C + a] = v;
  });
}

/** First-layer pre-activation from the time embedding alone: W_t^T temb(t), [hidden[0]]. */
export function timePart(net: Network, t: number): Float64Array {
  const temb = new Float64Array(net.E);
  timeEmbedding(t, net.E, temb);
  return partialProduct(net.layers[0]!, temb, 0, net.D, net.E);
}

/** First-layer pre-activation from a condition vector cond[co, co + K) alone: W_c^T cond, [hidden[0]]. */
export function condPart(net: Network, cond: Float64Array, co: number): Float64Array {
  return partialProduct(net.layers[0]!, cond, co, net.D + net.E, net.K);
}

function partialProduct(layer: DenseLayer, v: Float64Array, vo: number, from: number, len: number): Float64Array {
  const { inDims, outDims, wT } = layer;
  const out = new Float64Array(outDims);
  for (let o = 0; o < outDims; o++) {
    let s = 0;
    for (let i = 0, w = o * inDims + from; i < len; i++) s += v[vo + i]! * wT[w + i]!;
    out[o] = s;
  }
  return out;
}

/**
 * out[r, o] = act(base[r * baseStride + o] + sum_i in[r * I + i] wT[o * wStride + i]) for r < rows,
 * summed over i in order for every (r, o) (4 x 4 register tiles, remainders alike), so a row's
 * outputs do not depend on the other rows. act: SiLU or none. Reason for its length: the tile.
 */
export function dense(
  input: Float64Array,
  rows: number,
  I: number,
  wT: Float32Array,
  wStride: number,
  O: number,
  base: Float64Array,
  baseStride: number,
  out: Float64Array,
  silu: boolean,
): void {
  const put = (r: number, o: number, acc: number) => {
    const v = base[r * baseStride + o]! + acc;
    out[r * O + o] = silu ? v / (1 + Math.exp(-v)) : v;
  };
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const a0 = r * I;
    const a1 = a0 + I;
    const a2 = a1 + I;
    const a3 = a2 + I;
    let o = 0;
    for (; o + 4 <= O; o += 4) {
      const w0 = o * wStride;
      const w1 = w0 + wStride;
      const w2 = w1 + wStride;
      const w3 = w2 + wStride;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let i = 0; i < I; i++) {
        const x0 = input[a0 + i]!, x1 = input[a1 + i]!, x2 = input[a2 + i]!, x3 = input[a3 + i]!;
        const y0 = wT[w0 + i]!, y1 = wT[w1 + i]!, y2 = wT[w2 + i]!, y3 = wT[w3 + i]!;
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      put(r, o, c00); put(r, o + 1, c01); put(r, o + 2, c02); put(r, o + 3, c03);
      put(r + 1, o, c10); put(r + 1, o + 1, c11); put(r + 1, o + 2, c12); put(r + 1, o + 3, c13);
      put(r + 2, o, c20); put(r + 2, o + 1, c21); put(r + 2, o + 2, c22); put(r + 2, o + 3, c23);
      put(r + 3, o, c30); put(r + 3, o + 1, c31); put(r + 3, o + 2, c32); put(r + 3, o + 3, c33);
    }
    for (; o < O; o++) for (let q = 0; q < 4; q++) put(r + q, o, dot(input, (r + q) * I, wT, o * wStride, I));
  }
  // The last rows one by one, 4 outputs at a time (a single item's pass comes here).
  for (; r < rows; r++) {
    const a = r * I;
    let o = 0;
    for (; o + 4 <= O; o += 4) {
      const w0 = o * wStride;
      const w1 = w0 + wStride;
      const w2 = w1 + wStride;
      const w3 = w2 + wStride;
      let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      for (let i = 0; i < I; i++) {
        const x = input[a + i]!;
        c0 += x * wT[w0 + i]!; c1 += x * wT[w1 + i]!; c2 += x * wT[w2 + i]!; c3 += x * wT[w3 + i]!;
      }
      put(r, o, c0); put(r, o + 1, c1); put(r, o + 2, c2); put(r, o + 3, c3);
    }
    for (; o < O; o++) put(r, o, dot(input, a, wT, o * wStride, I));
  }
}

function dot(a: Float64Array, ao: number, w: Float32Array, wo: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i]! * w[wo + i]!;
  return s;
}

/**
 * eps for `rows` rows of x [rows * D] (whitened PCA coordinates) at timestep t, with first-layer
 * bases [rows * hidden[0]] = (b_0 + timePart(t)) + condPart(cond_r) per row. The hidden layers and
 * the output follow; returns [rows * D].
 */
export function forwardFromBase(net: Network, x: Float64Array, rows: number, firstBase: Float64Array): Float64Array {
  const [first, ...rest] = net.layers;
  let h = new Float64Array(rows * first!.outDims);
  dense(x, rows, net.D, first!.wT, first!.inDims, first!.outDims, firstBase, first!.outDims, h, true);
  rest.forEach((layer, l) => {
    const next = new Float64Array(rows * layer.outDims);
    dense(h, rows, layer.inDims, layer.wT, layer.inDims, layer.outDims, layer.bias, 0, next, l < rest.length - 1);
    h = next;
  });
  return h;
}

/** The first layer's base for one condition at one timestep's time part: (b_0 + time) + cond, [hidden[0]]. */
export function firstLayerBase(net: Network, time: Float64Array, cond: Float64Array, out: Float64Array, offset: number): void {
  const { bias } = net.layers[0]!;
  for (let o = 0; o < bias.length; o++) out[offset + o] = bias[o]! + time[o]! + cond[o]!;
}

/** eps of the network for rows of x at timestep t under condition vectors cond [rows * K]: one plain forward pass. */
export function forwardEps(net: Network, x: Float64Array, rows: number, t: number, cond: Float64Array): Float64Array {
  const H = net.layers[0]!.outDims;
  const time = timePart(net, t);
  const base = new Float64Array(rows * H);
  for (let r = 0; r < rows; r++) firstLayerBase(net, time, condPart(net, cond, r * net.K), base, r * H);
  return forwardFromBase(net, x, rows, base);
}
