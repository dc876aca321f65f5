import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  PUBLISHED_TYPE_I,
  conditionalLogLikelihood,
  gateProbabilities,
  gaussianGated,
  gaussianGatedFromMeasure,
  gaussianGatedToMeasure,
  jointLogLikelihood,
  prepareGaussianGated,
  regressionFunction,
  sampleGaussianGated,
  validateGaussianGated,
} from '../../src/mixture/gaussian-gated.js';
import { makeRng } from '../../src/util/rng.js';
import { InputError } from '../../src/util/errors.js';

const isInputError = (field: string) => (e: unknown) => e instanceof InputError && e.field === field;

test('the published type-I truth is the one of docs/theory.md §4 (arXiv 2305.07572) and is valid', () => {
  assert.equal(PUBLISHED_TYPE_I.d, 1);
  assert.equal(PUBLISHED_TYPE_I.k, 3);
  assert.deepEqual(Array.from(PUBLISHED_TYPE_I.pi), [0.3, 0.4, 0.3]);
  assert.deepEqual(Array.from(PUBLISHED_TYPE_I.c), [-0.1, 0.1, 0.5]);
  assert.deepEqual(Array.from(PUBLISHED_TYPE_I.Gamma), [0.042824, 0.0175, 0.01]);
  assert.deepEqual(Array.from(PUBLISHED_TYPE_I.A), [0.40453951, -0.71428571, 0]);
  assert.deepEqual(Array.from(PUBLISHED_TYPE_I.b), [0.34045395, -0.32857143, 0.2]);
  assert.deepEqual(Array.from(PUBLISHED_TYPE_I.nu), [0.00887672, 0.02642857, 0.0175]);
  validateGaussianGated(PUBLISHED_TYPE_I);
});

test('the generative sampler draws X from the gate mixture and Y from the chosen expert (seeded)', () => {
  const n = 40000;
  const s = sampleGaussianGated(PUBLISHED_TYPE_I, n, makeRng(11));
  const again = sampleGaussianGated(PUBLISHED_TYPE_I, 5, makeRng(11));
  assert.deepEqual(Array.from(again.X), Array.from(s.X.subarray(0, 5)));
  for (let j = 0; j < 3; j++) {
    let cnt = 0, mx = 0, vx = 0, res = 0, res2 = 0;
    for (let i = 0; i < n; i++) if (s.labels[i] === j) { cnt++; mx += s.X[i] as number; }
    mx /= cnt;
    for (let i = 0; i < n; i++) if (s.labels[i] === j) {
      const x = s.X[i] as number;
      vx += (x - mx) ** 2;
      const e = (s.Y[i] as number) - (PUBLISHED_TYPE_I.A[j] as number) * x - (PUBLISHED_TYPE_I.b[j] as number);
      res += e; res2 += e * e;
    }
    vx /= cnt; res /= cnt; res2 /= cnt;
    const se = Math.sqrt((0.3 * 0.7) / n);
    assert.ok(Math.abs(cnt / n - (PUBLISHED_TYPE_I.pi[j] as number)) < 5 * se, `pi[${j}]`);
    assert.ok(Math.abs(mx - (PUBLISHED_TYPE_I.c[j] as number)) < 0.01, `c[${j}]`);
    assert.ok(Math.abs(vx / (PUBLISHED_TYPE_I.Gamma[j] as number) - 1) < 0.06, `Gamma[${j}]`);
    assert.ok(Math.abs(res) < 0.01, `expert mean ${j}`);
    assert.ok(Math.abs(res2 / (PUBLISHED_TYPE_I.nu[j] as number) - 1) < 0.06, `nu[${j}]`);
  }
});

test('full covariances in d = 2: sample covariance of a component matches Gamma', () => {
  const p = gaussianGated({ pi: [1], c: [[1, -1]], Gamma: [[[2, 0.8], [0.8, 1]]], A: [[0.5, 0.5]], b: [0], nu: [0.1] });
  const s = sampleGaussianGated(p, 50000, makeRng(3));
  let m0 = 0, m1 = 0;
  for (let i = 0; i < s.n; i++) { m0 += s.X[2 * i] as number; m1 += s.X[2 * i + 1] as number; }
  m0 /= s.n; m1 /= s.n;
  let c00 = 0, c01 = 0, c11 = 0;
  for (let i = 0; i < s.n; i++) {
    const a = (s.X[2 * i] as number) - m0, b = (s.X[2 * i + 1] as number) - m1;
    c00 += a * a; c01 += a * b; c11 += b * b;
  }
  assert.ok(Math.abs(c00 / s.n - 2) < 0.06 && Math.abs(c01 / s.n - 0.8) < 0.04 && Math.abs(c11 / s.n - 1) < 0.03);
  assert.ok(Math.abs(m0 - 1) < 0.03 && Math.abs(m1 + 1) < 0.03);
});

test('gates are probability vectors and f_G is their mixture of expert means (random models)', () => {
  const arb = fc.record({
    k: fc.integer({ min: 1, max: 4 }),
    seed: fc.integer({ min: 1, max: 1e6 }),
  });
  fc.assert(fc.property(arb, ({ k, seed }) => {
    const rng = makeRng(seed);
    const w = Array.from({ length: k }, () => 0.1 + rng.uniform());
    const tot = w.reduce((a, b) => a + b, 0);
    const p = gaussianGated({
      pi: w.map((v) => v / tot),
      c: Array.from({ length: k }, () => [rng.normal(), rng.normal()]),
      Gamma: Array.from({ length: k }, () => { const a = 0.2 + rng.uniform(); const b = 0.2 + rng.uniform(); const r = 0.5 * (rng.uniform() - 0.5); return [[a, r * Math.sqrt(a * b)], [r * Math.sqrt(a * b), b]]; }),
      A: Array.from({ length: k }, () => [rng.normal(), rng.normal()]),
      b: Array.from({ length: k }, () => rng.normal()),
      nu: Array.from({ length: k }, () => 0.1 + rng.uniform()),
    });
    const x = Float64Array.of(rng.normal(), rng.normal());
    const g = new Float64Array(k);
    gateProbabilities(prepareGaussianGated(p), x, 0, g);
    assert.ok(Math.abs(g.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    assert.ok(g.every((v) => v >= 0));
    let f = 0;
    for (let j = 0; j < k; j++) f += (g[j] as number) * ((p.A[2 * j] as number) * (x[0] as number) + (p.A[2 * j + 1] as number) * (x[1] as number) + (p.b[j] as number));
    assert.ok(Math.abs((regressionFunction(p, x)[0] as number) - f) < 1e-12);
    const back = gaussianGatedFromMeasure(gaussianGatedToMeasure(p));
    assert.deepEqual(back, p);
  }), { numRuns: 50 });
});

test('joint and conditional log-likelihoods agree with a direct evaluation', () => {
  const p = PUBLISHED_TYPE_I;
  const s = sampleGaussianGated(p, 3, makeRng(5));
  const N = (x: number, m: number, v: number) => Math.exp(-((x - m) ** 2) / (2 * v)) / Math.sqrt(2 * Math.PI * v);
  let joint = 0, cond = 0;
  for (let i = 0; i < 3; i++) {
    const x = s.X[i] as number, y = s.Y[i] as number;
    let num = 0, den = 0;
    for (let j = 0; j < 3; j++) {
      const g = (p.pi[j] as number) * N(x, p.c[j] as number, p.Gamma[j] as number);
      num += g * N(y, (p.A[j] as number) * x + (p.b[j] as number), p.nu[j] as number);
      den += g;
    }
    joint += Math.log(num) / 3;
    cond += Math.log(num / den) / 3;
  }
  assert.ok(Math.abs(jointLogLikelihood(p, s) - joint) < 1e-12);
  assert.ok(Math.abs(conditionalLogLikelihood(p, s) - cond) < 1e-12);
});

test('bad models are refused with the field named', () => {
  const base = { pi: [0.5, 0.5], c: [0, 1], Gamma: [1, 1], A: [0, 0], b: [0, 0], nu: [1, 1] };
  assert.throws(() => gaussianGated({ ...base, Gamma: [1, -0.5] }), isInputError('model.Gamma[1]'));
  assert.throws(() => gaussianGated({ ...base, nu: [1, 0] }), isInputError('model.nu[1]'));
  assert.throws(() => gaussianGated({ ...base, pi: [0.5, 0.6] }), isInputError('model.pi'));
  assert.throws(() => gaussianGated({ ...base, b: [0] }), isInputError('model.b'));
  assert.throws(() => gaussianGated({ ...base, c: [0, Number.NaN] }), isInputError('model.c[1]'));
  assert.throws(() => gaussianGated({ pi: [1], c: [[0, 0]], Gamma: [[[1, 1], [1, 1]]], A: [[0, 0]], b: [0], nu: [1] }), isInputError('model.Gamma[0]'));
  assert.throws(() => gaussianGated({ pi: [1], c: [[0, 0]], Gamma: [[[1, 0], [0, 1]]], A: [[0]], b: [0], nu: [1] }), isInputError('model.A[0]'));
  assert.throws(() => gaussianGated({ pi: [1], c: [[0, 0]], Gamma: [[[1, 0.2], [0.3, 1]]], A: [[0, 0]], b: [0], nu: [1] }), isInputError('model.Gamma[0]'));
});
