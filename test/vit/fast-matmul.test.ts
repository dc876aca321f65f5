import './quiet-tfjs.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useExplicitTransposeMatMulGradient } from '../../src/vit/fast-matmul.js';

test('the explicit-transpose matMul gradient equals tfjs own for every transpose combination', async () => {
  await tf.setBackend('cpu');
  const a = tf.randomNormal([5, 7], 0, 1, 'float32', 1);
  const b = tf.randomNormal([7, 3], 0, 1, 'float32', 2);
  const combos: Array<[boolean, boolean]> = [[false, false], [false, true], [true, false], [true, true]];
  const inputs = (tA: boolean, tB: boolean) => [tA ? tf.transpose(a) : a, tB ? tf.transpose(b) : b] as [tf.Tensor2D, tf.Tensor2D];
  const grads = () =>
    combos.map(([tA, tB]) => {
      const [x, y] = inputs(tA, tB);
      const w = tf.randomNormal([5, 3], 0, 1, 'float32', 3);
      const g = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.matMul(p as tf.Tensor2D, q as tf.Tensor2D, tA, tB), w)))([x, y]);
      return g.map((t) => Array.from(t.dataSync()));
    });
  const before = grads();
  assert.equal(useExplicitTransposeMatMulGradient(), true);
  assert.equal(useExplicitTransposeMatMulGradient(), false, 'idempotent');
  const after = grads();
  before.forEach((pair, i) =>
    pair.forEach((g, j) => g.forEach((v, k) => assert.ok(Math.abs(v - (after[i]![j]![k] as number)) < 1e-5, `combo ${i} input ${j} entry ${k}`))),
  );
});
