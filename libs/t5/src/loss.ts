import * as tf from '@tensorflow/tfjs-core';

/** log p(label) per position, [B, T], from logits [B, T, V]. */
export function tokenLogProbs(logits: tf.Tensor3D, labels: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const vocab = logits.shape[2];
    const lse = tf.logSumExp(logits, -1); // [B, T]
    // oneHot*logits instead of a gather: its gradient is dense and runs on every backend.
    const picked = tf.sum(tf.mul(logits, tf.oneHot(tf.cast(labels, 'int32'), vocab)), -1);
    return tf.sub(picked, lse) as tf.Tensor2D;
  });
}

/** Mean token cross-entropy over positions where labelMask is 1 (HF's ignore_index=-100 semantics). */
export function maskedCrossEntropy(
  logits: tf.Tensor3D,
  labels: tf.Tensor2D,
  labelMask: tf.Tensor2D,
): tf.Scalar {
  return tf.tidy(() => {
    const mask = tf.cast(labelMask, 'float32');
    const nll = tf.neg(tokenLogProbs(logits, labels));
    return tf.div(tf.sum(tf.mul(nll, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
  });
}
