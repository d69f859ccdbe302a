// Adam, in two placements with one state format ({weights, m, v} as Float32Arrays + the step):
//  - 'host': weights, m and v live in JS and `adamStep` updates them in place; each step uploads
//    the weights and reads the gradients back. On native TensorFlow (CPU) every elementwise op
//    costs ~250 us on the 784x256 kernel, so the ~13 ops of a tensor Adam took a third of an MLP
//    step; one JS pass over the parameters is cheaper there, and on the plain-JS cpu backend.
//  - 'device': weights, m and v are tf.Variables updated with tensor ops, so nothing leaves the
//    device. Right where elementwise ops are cheap (wasm's XNNPACK: ~60 us for the same op) or
//    where a round trip to the host is not (a GPU).
// Both recompute the bias corrections from the step alone (float64), so {weights, m, v, step} is
// the whole state (a step's learning rate comes from the trainer's schedule, a function of the
// step): a run resumed from a checkpoint is bit-identical to an uninterrupted one on the same
// backend. The two placements round differently (float64 vs float32 intermediates), so they
// agree to float32 precision, not bit for bit. Weight decay is decoupled (AdamW, as PyTorch): each
// step first scales the weights by 1 - lr * weightDecay, then takes the Adam step.
import * as tf from '@tensorflow/tfjs';

export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } as const;

export type AdamPlacement = 'host' | 'device';

export interface AdamState {
  weights: Float32Array[];
  m: Float32Array[];
  v: Float32Array[];
}

export interface AdamOptimizer {
  readonly placement: AdamPlacement;
  /** The weights as tensors for this step's forward pass. Call inside tf.tidy. */
  weightTensors(): tf.Tensor[];
  /**
   * Apply the gradients of step t (counted from 1) at `learningRate` (default: the one the
   * optimizer was created with). Call inside the same tf.tidy.
   */
  apply(grads: tf.Tensor[], t: number, learningRate?: number): void;
  /** A copy of the whole state. */
  state(): AdamState;
  dispose(): void;
}

/**
 * Where Adam runs for a backend: 'device' on wasm and on a GPU, 'host' on native TensorFlow
 * (CPU) and the cpu backend. SYNTHSCALE_ADAM=host|device overrides it (benchmarks compare both).
 */
export function adamPlacementFor(backend: string, gpu: boolean, env: NodeJS.ProcessEnv = process.env): AdamPlacement {
  const forced = env.SYNTHSCALE_ADAM;
  if (forced === 'host' || forced === 'device') return forced;
  if (forced) throw new Error(`SYNTHSCALE_ADAM must be 'host' or 'device', got '${forced}'`);
  return backend === 'wasm' || gpu ? 'device' : 'host';
}

/** `weightDecay`: decoupled, per step, times the step's learning rate (0: plain Adam). */
export function createAdam(placement: AdamPlacement, shapes: number[][], initial: AdamState, learningRate: number, weightDecay = 0): AdamOptimizer {
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  for (const [name, list] of Object.entries(initial) as [string, Float32Array[]][]) {
    if (list.length !== sizes.length || list.some((a, i) => a.length !== sizes[i])) {
      throw new Error(`Adam state '${name}' does not match the model's weight shapes`);
    }
  }
  return placement === 'host' ? hostAdam(shapes, initial, learningRate, weightDecay) : deviceAdam(shapes, initial, learningRate, weightDecay);
}

function hostAdam(shapes: number[][], initial: AdamState, learningRate: number, weightDecay: number): AdamOptimizer {
  const copy = (list: Float32Array[]) => list.map((a) => new Float32Array(a));
  const weights = copy(initial.weights);
  const m = copy(initial.m);
  const v = copy(initial.v);
  return {
    placement: 'host',
    weightTensors: () => weights.map((w, i) => tf.tensor(w, shapes[i])),
    apply(grads, t, rate = learningRate) {
      // Read inside the caller's tidy: the gradients are still alive (the cpu backend hands back
      // its own buffer rather than a copy).
      adamStep(weights, grads.map((g) => g.dataSync() as Float32Array), m, v, t, rate, weightDecay);
    },
    state: () => ({ weights: copy(weights), m: copy(m), v: copy(v) }),
    dispose() {},
  };
}

function deviceAdam(shapes: number[][], initial: AdamState, learningRate: number, weightDecay: number): AdamOptimizer {
  const created: tf.Variable[] = [];
  const variables = (list: Float32Array[], trainable: boolean) =>
    list.map((values, i) => {
      const variable = tf.tidy(() => tf.variable(tf.tensor(values, shapes[i]), trainable));
      created.push(variable);
      return variable;
    });
  let weights: tf.Variable[], m: tf.Variable[], v: tf.Variable[];
  try {
    weights = variables(initial.weights, true);
    m = variables(initial.m, false);
    v = variables(initial.v, false);
  } catch (err) {
    for (const c of created) c.dispose();
    throw err;
  }
  const read = (list: tf.Variable[]) => list.map((t) => new Float32Array(t.dataSync() as Float32Array));
  return {
    placement: 'device',
    weightTensors: () => weights,
    apply(grads, t, rate = learningRate) {
      const { beta1, beta2, epsilon } = ADAM;
      const stepSize = rate / (1 - beta1 ** t);
      const decay = 1 - rate * weightDecay;
      const sqrtCorrection2 = Math.sqrt(1 - beta2 ** t);
      weights.forEach((w, i) => {
        const g = grads[i]!;
        const mi = m[i]!;
        const vi = v[i]!;
        mi.assign(tf.add(tf.mul(mi, beta1), tf.mul(g, 1 - beta1)));
        vi.assign(tf.add(tf.mul(vi, beta2), tf.mul(tf.square(g), 1 - beta2)));
        // w -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)   (== lr * m̂ / (sqrt(v̂) + eps))
        const denom = tf.add(tf.div(tf.sqrt(vi), sqrtCorrection2), epsilon);
        w.assign(tf.sub(weightDecay > 0 ? tf.mul(w, decay) : w, tf.div(tf.mul(mi, stepSize), denom)));
      });
    },
    state: () => ({ weights: read(weights), m: read(m), v: read(v) }),
    dispose() {
      for (const c of created) c.dispose();
    },
  };
}

/**
 * One host Adam step (t counts from 1), in place: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * w = w (1 - lr wd) - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps). float64 arithmetic,
 * float32 storage (with wd = 0 the factor is exactly 1: plain Adam, bit for bit).
 */
export function adamStep(
  weights: Float32Array[],
  grads: Float32Array[],
  m: Float32Array[],
  v: Float32Array[],
  t: number,
  learningRate: number,
  weightDecay = 0,
): void {
  const { beta1, beta2, epsilon } = ADAM;
  const stepSize = learningRate / (1 - beta1 ** t);
  const decay = 1 - learningRate * weightDecay;
  const invSqrtCorrection2 = 1 / Math.sqrt(1 - beta2 ** t);
  for (let k = 0; k < weights.length; k++) {
    const w = weights[k]!;
    const g = grads[k]!;
    const mk = m[k]!;
    const vk = v[k]!;
    if (g.length !== w.length) throw new Error(`gradient ${k} has ${g.length} values for ${w.length} weights`);
    const n = w.length;
    for (let i = 0; i < n; i++) {
      const gi = g[i]!;
      const mi = beta1 * mk[i]! + (1 - beta1) * gi;
      const vi = beta2 * vk[i]! + (1 - beta2) * gi * gi;
      mk[i] = mi;
      vk[i] = vi;
      w[i] = w[i]! * decay - (stepSize * mi) / (Math.sqrt(vi) * invSqrtCorrection2 + epsilon);
    }
  }
}
