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

/**
 * Mean token cross-entropy over positions where labelMask is 1 (HF's ignore_index=-100
 * semantics). With `labelSmoothing` ε the target is (1 − ε) on the label and ε spread uniformly
 * over the whole vocabulary (label included), as torch's CrossEntropyLoss(label_smoothing=ε):
 * loss = (1 − ε)·(−log p_label) + ε·mean_v(−log p_v). ε = 0 is the plain loss, op for op.
 */
export function maskedCrossEntropy(
  logits: tf.Tensor3D,
  labels: tf.Tensor2D,
  labelMask: tf.Tensor2D,
  labelSmoothing = 0,
): tf.Scalar {
  if (!(labelSmoothing >= 0 && labelSmoothing < 1))
    throw new Error(`labelSmoothing must be in [0, 1), got ${labelSmoothing}`);
  return tf.tidy(() => {
    const mask = tf.cast(labelMask, 'float32');
    let perToken: tf.Tensor = tf.neg(tokenLogProbs(logits, labels));
    if (labelSmoothing > 0) {
      // −mean_v log p_v = logSumExp(logits) − mean(logits)
      const uniform = tf.sub(tf.logSumExp(logits, -1), tf.mean(logits, -1));
      perToken = tf.add(tf.mul(perToken, 1 - labelSmoothing), tf.mul(uniform, labelSmoothing));
    }
    return tf.div(tf.sum(tf.mul(perToken, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
  });
}
