import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleInputs, sampleResponses, simulate } from '../../src/mixture/sample.js';
import { softmaxMoe } from '../../src/mixture/softmax-moe.js';
import { InputError } from '../../src/util/errors.js';
import { makeRng } from '../../src/util/rng.js';

test('samplers are reproducible from the seed and have the requested shape and law', () => {
  const a = sampleInputs({ kind: 'gaussian', dim: 3, mean: [1, 2, 3], sd: 0.5 }, 20000, makeRng(1));
  const b = sampleInputs({ kind: 'gaussian', dim: 3, mean: [1, 2, 3], sd: 0.5 }, 20000, makeRng(1));
  assert.deepEqual(a, b);
  assert.equal(a.length, 60000);
  let m = 0;
  let v = 0;
  for (let i = 0; i < 20000; i++) m += a[i * 3 + 1] as number;
  m /= 20000;
  for (let i = 0; i < 20000; i++) v += ((a[i * 3 + 1] as number) - m) ** 2;
  v /= 20000;
  assert.ok(Math.abs(m - 2) < 0.02 && Math.abs(v - 0.25) < 0.02, `${m} ${v}`);
  const u = sampleInputs({ kind: 'uniform', dim: 2, low: 3, high: 4 }, 1000, makeRng(2));
  assert.ok(u.every((x) => x >= 3 && x < 4));
  const f = sampleInputs({ kind: 'fixed', points: [[1, 2], [3, 4], [5, 6]] }, 5, makeRng(3));
  assert.deepEqual(Array.from(f), [1, 2, 3, 4, 5, 6, 1, 2, 3, 4]);
});

test('sampleResponses: sigma = 0 gives the regression function exactly; simulate is seeded', () => {
  const fam = softmaxMoe({ atoms: 2, inputDim: 1, gate: { kind: 'affine' }, expert: { kind: 'constant' } });
  const theta = Float64Array.from([0, 5, 1, 0, -5, 3]);
  const s = sampleResponses(fam, theta, Float64Array.from([0, 100, -100]), 0, makeRng(1));
  assert.deepEqual(Array.from(s.Y), [2, 1, 3]);
  const truth = fam.toMeasure(theta);
  const s1 = simulate({ family: fam, truth, inputs: { kind: 'uniform', dim: 1 }, n: 50, sigma: 0.1, rng: makeRng(9) });
  const s2 = simulate({ family: fam, truth, inputs: { kind: 'uniform', dim: 1 }, n: 50, sigma: 0.1, rng: makeRng(9) });
  assert.deepEqual(s1.Y, s2.Y);
  assert.equal(s1.n, 50);
});

test('samplers reject bad input naming the field', () => {
  const bad = (f: () => unknown, field: string): void => assert.throws(f, (e: unknown) => e instanceof InputError && e.field === field);
  bad(() => sampleInputs({ kind: 'gaussian', dim: 2 }, 0, makeRng(1)), 'n');
  bad(() => sampleInputs({ kind: 'gaussian', dim: 2, sd: -1 }, 5, makeRng(1)), 'inputs.sd');
  bad(() => sampleInputs({ kind: 'gaussian', dim: 2, mean: [1] }, 5, makeRng(1)), 'inputs.mean');
  bad(() => sampleInputs({ kind: 'uniform', dim: 2, low: 1, high: 0 }, 5, makeRng(1)), 'inputs.high');
  bad(() => sampleInputs({ kind: 'fixed', points: [[1, 2], [3]] }, 5, makeRng(1)), 'inputs.points[1]');
  bad(() => sampleInputs({ kind: 'fixed', points: [[1, Number.NaN]] }, 5, makeRng(1)), 'inputs.points[0][1]');
  const fam = softmaxMoe({ atoms: 2, inputDim: 2, gate: { kind: 'affine' }, expert: { kind: 'constant' } });
  const truth = fam.toMeasure(new Float64Array(fam.nParams));
  bad(() => simulate({ family: fam, truth, inputs: { kind: 'gaussian', dim: 3 }, n: 5, sigma: 1, rng: makeRng(1) }), 'inputs.dim');
  bad(() => simulate({ family: fam, truth, inputs: { kind: 'gaussian', dim: 2 }, n: 5, sigma: -1, rng: makeRng(1) }), 'sigma');
});
