/**
 * A faster gradient for 2-D matMul on the wasm backend.
 *
 * Measured here (tfjs-backend-wasm 4.22, SIMD, one thread): a [1728, 64] x [64, 128] product
 * takes about 5 ms plain, but 40-60 ms with transposeA or transposeB set; an explicit
 * tf.transpose followed by the plain product takes 4-11 ms. tfjs' own BatchMatMul gradient uses
 * the transpose flags (dA = dY B^T, dB = A^T dY), so on wasm the backward pass spent most of its
 * time there. `useExplicitTransposeMatMulGradient` re-registers the BatchMatMul gradient so that
 * for rank-2 operands it transposes explicitly and multiplies without flags; other ranks keep
 * tfjs' gradient. The mathematics is unchanged (same products), gradients stay lazy per input
 * (a frozen weight's gradient is never computed), and it is safe on every backend.
 */
import * as tf from '@tensorflow/tfjs';

let installed = false;
let saved: tf.GradConfig | undefined;

/** Put tfjs' own BatchMatMul gradient back (for comparisons); idempotent. */
export function restoreTfjsMatMulGradient(): void {
  if (!installed || saved === undefined) return;
  tf.registerGradient(saved);
  installed = false;
}

/** Idempotent; returns whether this call installed it. */
export function useExplicitTransposeMatMulGradient(): boolean {
  if (installed) return false;
  const original = tf.getGradient('BatchMatMul');
  if (!original) return false;
  saved = saved ?? original;
  const T = (x: tf.Tensor) => tf.transpose(x);
  tf.registerGradient({
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved as [tf.Tensor, tf.Tensor];
      const d = dy as tf.Tensor;
      if (a.rank !== 2 || b.rank !== 2 || d.rank !== 2) return original.gradFunc(dy, saved, attrs);
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const mm = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D);
      if (!transposeA && !transposeB) return { a: () => mm(d, T(b)), b: () => mm(T(a), d) }; // y = a b
      if (!transposeA && transposeB) return { a: () => mm(d, b), b: () => mm(T(d), a) }; // y = a b^T
      if (transposeA && !transposeB) return { a: () => mm(b, T(d)), b: () => mm(a, d) }; // y = a^T b
      return { a: () => mm(T(b), T(d)), b: () => mm(T(d), T(a)) }; // y = a^T b^T
    },
  });
  installed = true;
  return true;
}
