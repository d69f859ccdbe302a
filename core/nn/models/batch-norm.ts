// Batch normalisation over the batch and spatial axes of NHWC activations (per channel), as the
// ResNet uses it after every convolution: y = gamma * (x - mean) / sqrt(var + eps) + beta.
//  - training: mean and (biased) variance of the batch, with the closed-form gradient
//      dx = gamma / sqrt(var + eps) * (dy - mean(dy) - xhat * mean(dy * xhat)),
//      dgamma = sum(dy * xhat), dbeta = sum(dy)
//    (~10 elementwise ops and reductions, where autodiff of the forward pass takes ~25; every op
//    has a kernel on wasm, native TensorFlow and cpu alike). The running statistics' next values,
//    running * MOMENTUM + batch * (1 - MOMENTUM) with the unbiased batch variance (PyTorch's rule,
//    momentum 0.1 there), are pushed for the trainer to assign after the step;
//  - inference: the running statistics, as a per-channel scale and shift (`foldedScaleShift`),
//    which the fused inference path folds into the preceding convolution's kernel and bias.
import * as tf from '@tensorflow/tfjs';

export const BN_EPSILON = 1e-5;
/** Share of the old running statistic kept at each training step. */
export const BN_MOMENTUM = 0.9;

const AXES = [0, 1, 2];

/**
 * Training-mode batch norm of x [N, H, W, C]; pushes the next running mean and variance
 * (tf.keep'd) onto `next`.
 */
export function batchNormTrain(
  x: tf.Tensor4D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  runningMean: tf.Tensor,
  runningVar: tf.Tensor,
  next: tf.Tensor[],
): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const count = n * h * w;
  const unbiased = count > 1 ? count / (count - 1) : 1;
  const op = tf.customGrad(((xx: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const { mean, variance } = tf.moments(xx, AXES);
    const inv = tf.rsqrt(tf.add(variance, BN_EPSILON));
    const xhat = tf.mul(tf.sub(xx, mean), inv);
    save([xhat, tf.mul(g, inv)]);
    next.push(
      tf.keep(tf.add(tf.mul(runningMean, BN_MOMENTUM), tf.mul(mean, 1 - BN_MOMENTUM))),
      tf.keep(tf.add(tf.mul(runningVar, BN_MOMENTUM), tf.mul(variance, (1 - BN_MOMENTUM) * unbiased))),
    );
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, scale] = saved as [tf.Tensor, tf.Tensor];
        const dbeta = tf.sum(dy, AXES);
        const dgamma = tf.sum(tf.mul(dy, xh), AXES);
        const centred = tf.sub(tf.sub(dy, tf.div(dbeta, count)), tf.mul(xh, tf.div(dgamma, count)));
        return [tf.mul(centred, scale), dgamma, dbeta];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, gamma, beta) as tf.Tensor4D;
}

/** Inference-mode batch norm as y = x * scale + shift per channel. */
export function foldedScaleShift(gamma: tf.Tensor, beta: tf.Tensor, runningMean: tf.Tensor, runningVar: tf.Tensor): { scale: tf.Tensor; shift: tf.Tensor } {
  const scale = tf.mul(gamma, tf.rsqrt(tf.add(runningVar, BN_EPSILON)));
  return { scale, shift: tf.sub(beta, tf.mul(runningMean, scale)) };
}

/** Inference-mode batch norm of x [N, H, W, C] with the running statistics. */
export function batchNormInfer(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, runningMean: tf.Tensor, runningVar: tf.Tensor): tf.Tensor4D {
  const { scale, shift } = foldedScaleShift(gamma, beta, runningMean, runningVar);
  return tf.add(tf.mul(x, scale), shift);
}
