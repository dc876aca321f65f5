import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { leastSquares } from '../../src/estimate/least-squares.js';
import { convergenceOutcome, convergenceProperty, type ConvergencePropertyConfig } from '../../src/estimate/property.js';
import { softmaxMoe, type SoftmaxMoeFamily } from '../../src/mixture/softmax-moe.js';
import type { MixingMeasure } from '../../src/mixture/measure.js';
import { InputError } from '../../src/util/errors.js';
import { softmaxD1, voronoiLoss } from '../../src/loss/index.js';

/** The softmax Voronoi loss D1 (exact specification: every cell a singleton, exponent 1, plus the weight term). */
const d1 = softmaxD1();
const loss = (fitted: MixingMeasure, truth: MixingMeasure): number => voronoiLoss(fitted, truth, d1);

// Identifiable, exactly specified: 3 atoms, affine gates (last anchored), tanh experts sigma(w^T x + c), well separated.
const family = softmaxMoe({ atoms: 3, inputDim: 2, gate: { kind: 'affine' }, expert: { kind: 'mlp', activation: 'tanh', outputLayer: false }, anchor: 'last' });
const truth = family.toMeasure(Float64Array.from([0.5, 2, -1, 1.5, -1, 0.3, /* atom 2 */ -0.3, -1, 2, -2, 1, -0.4, /* atom 3 (anchored) */ 0.5, 1.5, 1]));

const config: ConvergencePropertyConfig<SoftmaxMoeFamily> = {
  family,
  truth,
  estimator: leastSquares(),
  sampleInputs: { kind: 'gaussian', dim: 2 },
  noise: 0.2,
  smallN: 200,
  largeN: 20000,
  loss,
  seeds: [1, 2, 3],
};

test('exact-specified softmax MoE fitted by LM: loss at n = 20,000 is below loss at n = 200 for fixed seeds', () => {
  fc.assert(convergenceProperty(config), { numRuns: 3 });
});

test('convergenceOutcome reports both losses and fits; a large gap between them', () => {
  const o = convergenceOutcome(config, 4);
  assert.ok(o.largeLoss < o.smallLoss / 3, `${o.largeLoss} vs ${o.smallLoss}`);
  assert.ok(o.large.diagnostics.converged);
});

test('convergenceProperty fails where it should (an estimator that ignores the data) and checks its config', () => {
  const lazy = { name: 'returns a fixed wrong measure', fit: () => ({ measure: family.toMeasure(new Float64Array(family.nParams)), diagnostics: { iterations: 0, converged: true, objective: 0, restarts: 1, seconds: 0 } }) };
  assert.throws(() => fc.assert(convergenceProperty({ ...config, estimator: lazy, smallN: 20, largeN: 40 }), { numRuns: 1 }));
  assert.throws(() => convergenceProperty({ ...config, largeN: 100 }), (e: unknown) => e instanceof InputError && e.field === 'largeN');
  assert.throws(() => convergenceProperty({ ...config, seeds: [] }), (e: unknown) => e instanceof InputError && e.field === 'seeds');
});
