// The classifier's training loss (also the CLIP linear probe's).
import * as tf from '@tensorflow/tfjs';

/**
 * Mean softmax cross-entropy of logits [n, k] against one-hot (or soft) labels [n, k], with the
 * closed-form gradient (softmax - labels) / n. tf.losses.softmaxCrossEntropy reaches the same
 * value through its weighted-loss wrapper, ~25 ops per step where this takes ~8.
 */
export function meanSoftmaxCrossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  const loss = tf.customGrad(((z: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc) => {
    const logProbs = tf.logSoftmax(z);
    save([logProbs, y]);
    const value = tf.div(tf.neg(tf.sum(tf.mul(y, logProbs))), z.shape[0]!) as tf.Scalar;
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [lp, yy] = saved as [tf.Tensor, tf.Tensor];
        const scale = tf.div(dy, lp.shape[0]!);
        return [tf.mul(tf.sub(tf.exp(lp), yy), scale), tf.zerosLike(yy)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return loss(logits, labels) as tf.Scalar;
}
