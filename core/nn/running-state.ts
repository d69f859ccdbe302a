// A model's non-trained state during training (the ResNet's batch norm running means and
// variances): tf.Variables that Adam never sees. Each step's forward pass computes the next values
// from its batch (models/definition.ts ForwardMode); the loop assigns them after the step, on the
// device, so nothing is read back per step. A model without state has an empty one.
import * as tf from '@tensorflow/tfjs';

export interface RunningState {
  /** The current values, as the forward pass reads them. */
  tensors(): readonly tf.Tensor[];
  /** Take `next` (one tensor per state tensor, same shapes) as the new values; disposes them. */
  assign(next: tf.Tensor[]): void;
  /** A copy of the current values. */
  read(): Float32Array[];
  dispose(): void;
}

export function createRunningState(values: readonly Float32Array[], shapes: readonly number[][]): RunningState {
  if (values.length !== shapes.length) throw new Error(`model state: ${values.length} arrays for ${shapes.length} shapes`);
  const variables: tf.Variable[] = [];
  try {
    values.forEach((v, i) => variables.push(tf.tidy(() => tf.variable(tf.tensor(v, shapes[i]), false))));
  } catch (err) {
    for (const v of variables) v.dispose();
    throw err;
  }
  return {
    tensors: () => variables,
    assign(next) {
      try {
        if (next.length !== variables.length) throw new Error(`model state: the step computed ${next.length} state tensors, the model has ${variables.length}`);
        next.forEach((t, i) => variables[i]!.assign(t));
      } finally {
        tf.dispose(next);
        next.length = 0;
      }
    },
    read: () => variables.map((v) => new Float32Array(v.dataSync() as Float32Array)),
    dispose() {
      for (const v of variables) v.dispose();
    },
  };
}
