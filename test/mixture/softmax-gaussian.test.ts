import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anchorLast, sampleSoftmaxGaussian, softmaxGates, softmaxGaussian, softmaxGaussianFromMeasure, softmaxGaussianMean, softmaxGaussianToMeasure } from '../../src/mixture/softmax-gaussian.js';
import { makeRng } from '../../src/util/rng.js';
import { InputError } from '../../src/util/errors.js';

const truth = softmaxGaussian({ beta0: [0.5, 0], beta: [[2], [0]], a: [[1], [-1]], b: [0, 0.5], nu: [0.05, 0.1] });

test('softmax-gated Gaussian MoE: sampler follows the gates and experts', () => {
  const s = sampleSoftmaxGaussian(truth, { kind: 'gaussian', dim: 1 }, 40000, makeRng(2));
  const g = new Float64Array(2);
  let expected0 = 0, got0 = 0, res = 0;
  for (let i = 0; i < s.n; i++) {
    softmaxGates(truth, s.X, i, g);
    expected0 += g[0] as number;
    if (s.labels[i] === 0) { got0++; res += (s.Y[i] as number) - (s.X[i] as number); }
  }
  assert.ok(Math.abs(got0 - expected0) / s.n < 0.01);
  assert.ok(Math.abs(res / got0) < 0.01);
  const f = softmaxGaussianMean(truth, Float64Array.of(0));
  softmaxGates(truth, Float64Array.of(0), 0, g);
  assert.ok(Math.abs((f[0] as number) - ((g[1] as number) * 0.5)) < 1e-12);
});

test('anchoring leaves the gates unchanged and the measure round-trips', () => {
  const a = anchorLast(softmaxGaussian({ beta0: [1, 2], beta: [[0.5], [1.5]], a: [[1], [-1]], b: [0, 0.5], nu: [0.05, 0.1] }));
  assert.equal(a.beta0[1], 0);
  const g1 = new Float64Array(2), g2 = new Float64Array(2);
  softmaxGates(a, Float64Array.of(0.3), 0, g1);
  softmaxGates(softmaxGaussian({ beta0: [1, 2], beta: [[0.5], [1.5]], a: [[1], [-1]], b: [0, 0.5], nu: [0.05, 0.1] }), Float64Array.of(0.3), 0, g2);
  assert.ok(Math.abs((g1[0] as number) - (g2[0] as number)) < 1e-14);
  const back = softmaxGaussianFromMeasure(softmaxGaussianToMeasure(truth));
  for (let j = 0; j < 2; j++) assert.ok(Math.abs((back.beta0[j] as number) - (truth.beta0[j] as number)) < 1e-14);
});

test('bad softmax-gated models are refused with the field named', () => {
  assert.throws(() => softmaxGaussian({ beta0: [0, 0], beta: [[1], [0]], a: [[1], [1]], b: [0, 0], nu: [1, -1] }), (e: unknown) => e instanceof InputError && e.field === 'model.nu[1]');
  assert.throws(() => softmaxGaussian({ beta0: [0, 0], beta: [[1], [0, 1]], a: [[1], [1]], b: [0, 0], nu: [1, 1] }), (e: unknown) => e instanceof InputError && e.field === 'model.beta[1]');
});

test('a gate driven off by EM (exp(beta0) overflowing) still gives a finite measure; below the overflow the weights are exp(beta0) exactly', () => {
  const off = softmaxGaussian({ beta0: [800, 0, -3], beta: [[1900], [0], [2]], a: [[1], [-1], [0]], b: [0, 0.5, 1], nu: [0.05, 0.1, 0.2] });
  const g = softmaxGaussianToMeasure(off);
  for (const a of g.atoms) assert.ok(Number.isFinite(a.weight as number), String(a.weight));
  assert.equal(g.atoms[0]?.weight, 1);
  const small = softmaxGaussianToMeasure(softmaxGaussian({ beta0: [0.3, 0], beta: [[1], [0]], a: [[1], [-1]], b: [0, 0.5], nu: [0.05, 0.1] }));
  assert.equal(small.atoms[0]?.weight, Math.exp(0.3));
});
