// CLIP's optimizer: Adam (core/nn/adam.ts) over every weight, logitScale included, with
// logitScale clipped to [0, ln 100] right after each step, so the clipped value is what the state
// (and any checkpoint) holds and a resume continues from it.
import * as tf from '@tensorflow/tfjs';
import { adamStep, createAdam, type AdamOptimizer, type AdamPlacement, type AdamState } from '../../core/nn/adam.js';
import { LOGIT_SCALE_MAX, LOGIT_SCALE_MIN } from './model.js';

/** Adam plus logitScale's clip: the optimizer interface, with the clip inside `apply`. */
export interface ClipOptimizer extends AdamOptimizer {
  logitScale(): number;
}

/**
 * Adam over all weights (last = logitScale) that clips logitScale to [0, ln 100] after each step.
 * 'device': one device Adam; the clip is an assign on the logitScale variable. 'host': the host
 * Adam has no handle on its weights, so the scalar gets its own host step (adamStep, the very
 * function the host Adam runs, same hyperparameters and step) and is clipped in JS.
 */
export function createClipAdam(placement: AdamPlacement, shapes: number[][], initial: AdamState, learningRate: number, weightDecay = 0): ClipOptimizer {
  const k = shapes.length - 1;
  if (placement === 'device') {
    const inner = createAdam('device', shapes, initial, learningRate, weightDecay);
    const scale = inner.weightTensors()[k];
    if (!(scale instanceof tf.Variable)) {
      inner.dispose();
      throw new Error('device Adam did not expose its weights as variables');
    }
    return {
      placement: inner.placement,
      weightTensors: () => inner.weightTensors(),
      apply(grads, t, rate = learningRate) {
        inner.apply(grads, t, rate);
        scale.assign(tf.clipByValue(scale, LOGIT_SCALE_MIN, LOGIT_SCALE_MAX));
      },
      state: () => inner.state(),
      logitScale: () => scale.dataSync()[0]!,
      dispose: () => inner.dispose(),
    };
  }
  const head = (list: Float32Array[]) => list.slice(0, k);
  const inner = createAdam('host', shapes.slice(0, k), { weights: head(initial.weights), m: head(initial.m), v: head(initial.v) }, learningRate, weightDecay);
  const last = (list: Float32Array[]) => {
    const a = list[k];
    if (!a || a.length !== 1) throw new Error('Adam state: logitScale must be one value');
    return new Float32Array(a);
  };
  const w = last(initial.weights);
  const m = last(initial.m);
  const v = last(initial.v);
  return {
    placement: inner.placement,
    weightTensors: () => [...inner.weightTensors(), tf.tensor(w, shapes[k])],
    apply(grads, t, rate = learningRate) {
      inner.apply(grads.slice(0, k), t, rate);
      adamStep([w], [grads[k]!.dataSync() as Float32Array], [m], [v], t, rate, weightDecay);
      w[0] = Math.min(Math.max(w[0]!, LOGIT_SCALE_MIN), LOGIT_SCALE_MAX);
    },
    state() {
      const s = inner.state();
      return { weights: [...s.weights, new Float32Array(w)], m: [...s.m, new Float32Array(m)], v: [...s.v, new Float32Array(v)] };
    },
    logitScale: () => w[0]!,
    dispose: () => inner.dispose(),
  };
}
