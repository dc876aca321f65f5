import { test } from 'node:test';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { leastSquares, normalEquations, validateSamples, meanSquaredResidual } from '../../src/estimate/least-squares.js';
import { assertSameIterates } from '../mixture/prepared-check.js';
import { expandMeasure, initialTheta, nearInit, shrinkingScale } from '../../src/estimate/init.js';
import { softmaxMoe } from '../../src/mixture/softmax-moe.js';
import { sampleInputs, sampleResponses, simulate } from '../../src/mixture/sample.js';
import type { RegressionFamily, Samples } from '../../src/mixture/family.js';
import { promptMixture, randomTruth } from '../../src/mixture/prompt-mixture.js';
import { solveSymmetric } from '../../src/linalg/solve.js';
import { InputError } from '../../src/util/errors.js';
import { makeRng } from '../../src/util/rng.js';

const moe = softmaxMoe({ atoms: 2, inputDim: 2, gate: { kind: 'affine' }, expert: { kind: 'mlp', activation: 'tanh', outputLayer: false }, anchor: 'last' });
// [b1, beta1(2), W1(2), c1 | W2(2), c2]
const truthTheta = Float64Array.from([0.5, 2, -1, 1.5, -1, 0.3, -2, 1, -0.4]);
const truth = moe.toMeasure(truthTheta);


test('LM recovers the truth from noiseless data (objective at rounding level)', () => {
  const s = simulate({ family: moe, truth, inputs: { kind: 'gaussian', dim: 2 }, n: 500, sigma: 0, rng: makeRng(1) });
  const fit = leastSquares().fit(moe, s, { rng: makeRng(2), init: { kind: 'near', truth, scale: 0.3 } });
  assert.ok(fit.diagnostics.converged, fit.diagnostics.stopReason);
  assert.ok(fit.diagnostics.objective < 1e-20, String(fit.diagnostics.objective));
  fit.theta.forEach((v, k) => assert.ok(Math.abs(v - (truthTheta[k] as number)) < 1e-7, `theta[${k}]`));
});

test('LM with one affine expert is ordinary least squares (degenerate gate columns are harmless)', () => {
  const lin = softmaxMoe({ atoms: 1, inputDim: 3, gate: { kind: 'affine' }, expert: { kind: 'affine' } });
  const rng = makeRng(4);
  const X = sampleInputs({ kind: 'uniform', dim: 3 }, 300, rng);
  const Y = new Float64Array(300);
  for (let i = 0; i < 300; i++) Y[i] = 1 + 2 * (X[i * 3] as number) - (X[i * 3 + 2] as number) + 0.1 * rng.normal();
  const samples: Samples = { n: 300, inputDim: 3, outputDim: 1, X, Y };
  // OLS on [x, 1].
  const A = new Float64Array(16);
  const b = new Float64Array(4);
  for (let i = 0; i < 300; i++) {
    const z = [X[i * 3] as number, X[i * 3 + 1] as number, X[i * 3 + 2] as number, 1];
    for (let a = 0; a < 4; a++) {
      b[a] = (b[a] as number) + (z[a] as number) * (Y[i] as number);
      for (let c = 0; c < 4; c++) A[a * 4 + c] = (A[a * 4 + c] as number) + (z[a] as number) * (z[c] as number);
    }
  }
  const ols = solveSymmetric({ rows: 4, cols: 4, data: A }, b);
  const fit = leastSquares().fit(lin, samples, { rng: makeRng(5), init: { kind: 'random' } });
  const expert = lin.expertOffsets[0] as number;
  for (let k = 0; k < 4; k++) assert.ok(Math.abs((fit.theta[expert + k] as number) - (ols[k] as number)) < 1e-8, `coef ${k}`);
  assert.ok(Math.abs(fit.diagnostics.objective - meanSquaredResidual(lin, samples, fit.theta)) < 1e-15);
});

test('multi-start keeps the best of its starts', () => {
  const s = simulate({ family: moe, truth, inputs: { kind: 'gaussian', dim: 2 }, n: 400, sigma: 0.1, rng: makeRng(7) });
  const fit = leastSquares({ maxIterations: 100 }).fit(moe, s, { rng: makeRng(8), init: { kind: 'random' }, starts: 4 });
  assert.equal(fit.diagnostics.restarts, 4);
  assert.equal(fit.diagnostics.startObjectives.length, 4);
  assert.equal(fit.diagnostics.objective, Math.min(...fit.diagnostics.startObjectives));
  assert.ok(fit.diagnostics.totalIterations >= fit.diagnostics.iterations);
});

test('fits are reproducible from the seed', () => {
  const s = simulate({ family: moe, truth, inputs: { kind: 'gaussian', dim: 2 }, n: 300, sigma: 0.1, rng: makeRng(7) });
  const a = leastSquares().fit(moe, s, { rng: makeRng(9), init: nearInit(truth, 300) });
  const b = leastSquares().fit(moe, s, { rng: makeRng(9), init: nearInit(truth, 300) });
  assert.deepEqual(a.theta, b.theta);
});

test('near init: scale shrinks with n, over-specified truths are expanded with weights split', () => {
  assert.equal(shrinkingScale(2, 10000, 0.25), 0.2);
  const free = softmaxMoe({ atoms: 2, inputDim: 1, gate: { kind: 'affine' }, expert: { kind: 'constant' } });
  const truth1 = { atoms: [{ weight: 3, params: { beta: Float64Array.from([1]), eta: Float64Array.from([2]) } }] };
  const g = expandMeasure(truth1, 2, makeRng(1));
  assert.deepEqual(g.atoms.map((a) => a.weight), [1.5, 1.5]);
  const over = softmaxMoe({ atoms: 3, inputDim: 1, gate: { kind: 'affine' }, expert: { kind: 'constant' } });
  const t2 = free.toMeasure(Float64Array.from([0, 1, 2, 0, -1, 5]));
  const theta = initialTheta(over, { kind: 'near', truth: t2, scale: 0 }, makeRng(3));
  const w = over.toMeasure(theta).atoms.map((a) => a.weight as number);
  assert.ok(Math.abs(w.reduce((x, y) => x + y, 0) - 2) < 1e-12);
  assert.throws(() => initialTheta(free, { kind: 'near', truth: over.toMeasure(theta), scale: 0 }, makeRng(1)), (e: unknown) => e instanceof InputError && e.field === 'family.atoms');
});

test('bad input to fit names the field', () => {
  const lm = leastSquares();
  const opts = { rng: makeRng(1), init: { kind: 'random' as const } };
  const good = simulate({ family: moe, truth, inputs: { kind: 'gaussian', dim: 2 }, n: 50, sigma: 0.1, rng: makeRng(1) });
  const bad = (s: Samples, field: string): void => assert.throws(() => lm.fit(moe, s, opts), (e: unknown) => e instanceof InputError && e.field === field);
  bad(sampleResponses(moe, truthTheta, sampleInputs({ kind: 'gaussian', dim: 2 }, 5, makeRng(1)), 0.1, makeRng(1)), 'samples.n');
  const X = Float64Array.from(good.X);
  X[7] = Number.NaN;
  bad({ ...good, X }, 'samples.X[3][1]');
  const Y = Float64Array.from(good.Y);
  Y[4] = Number.POSITIVE_INFINITY;
  bad({ ...good, Y }, 'samples.Y[4][0]');
  bad({ ...good, inputDim: 3 }, 'samples.inputDim');
  bad({ ...good, outputDim: 2 }, 'samples.outputDim');
  bad({ ...good, Y: good.Y.subarray(1) }, 'samples.Y');
  assert.throws(() => validateSamples(moe, { ...good, X: good.X.subarray(2) }), (e: unknown) => e instanceof InputError && e.field === 'samples.X');
  assert.throws(() => lm.fit(moe, good, { ...opts, starts: 0 }), (e: unknown) => e instanceof InputError && e.field === 'starts');
  assert.throws(() => leastSquares({ maxIterations: 0 }), (e: unknown) => e instanceof InputError && e.field === 'maxIterations');
  assert.throws(() => lm.fitFrom(moe, good, new Float64Array(3)), (e: unknown) => e instanceof InputError && e.field === 'theta0');
});

test('LM through a prepared family takes the same iterates as through predict / jacobian (every prompt-mixture kind)', () => {
  for (const kind of ['vpt', 'kv', 'vapt'] as const) {
    for (const atoms of [2, 3]) {
      const fam = promptMixture({ kind, tokens: 4, width: 4, dk: 4, dv: 4, atoms, seed: 7, ...(kind === 'vapt' ? { kernel: 1, rank: 4 } : {}) });
      assert.ok(fam.prepare !== undefined);
      const plain: RegressionFamily = { ...fam, prepare: undefined };
      const rng = makeRng(atoms);
      const truthTheta = fam.fromMeasure(randomTruth(fam, rng));
      const n = 400;
      const s = sampleResponses(fam, truthTheta, fam.sampleInputs(n, rng), 0.1, rng);
      const theta0 = Float64Array.from(truthTheta, (v) => v + 0.3 * rng.normal());
      // blockRows 30 is not a multiple of q = 4: the prepared path's blocks differ from the plain path's.
      // Early iterates (1 and 2 steps, before convergence forgets the path) and the converged fit.
      for (const [blockRows, maxIterations] of [[64, 1], [64, 2], [30, 2], [64, 30], [30, 30]] as const) {
        const lm = leastSquares({ maxIterations, blockRows });
        const a = lm.fitFrom(fam, s, theta0);
        const b = lm.fitFrom(plain, s, theta0);
        const tag = `${kind} L=${atoms} blockRows=${blockRows} maxIterations=${maxIterations}`;
        assert.ok(a.iterations >= Math.min(3, maxIterations), tag);
        assertSameIterates(a, b, tag);
      }
    }
  }
});

test('streamed normal equations equal J^T J and J^T r of the materialised Jacobian (plain, prepared, identity blocks; either fold)', () => {
  const families: Array<() => RegressionFamily> = [
    () => softmaxMoe({ atoms: 3, inputDim: 2, gate: { kind: 'affine' }, expert: { kind: 'mlp', activation: 'tanh', hidden: 2 }, anchor: 'last' }),
    () => promptMixture({ kind: 'vpt', tokens: 3, width: 3, dk: 2, dv: 3, atoms: 2, seed: 1 }),
    () => promptMixture({ kind: 'kv', tokens: 2, width: 3, dk: 2, dv: 3, atoms: 3, seed: 2 }),
    () => promptMixture({ kind: 'vapt', tokens: 4, width: 3, dk: 2, dv: 2, atoms: 2, kernel: 1, rank: 3, seed: 3 }),
    () => ({ ...promptMixture({ kind: 'kv', tokens: 2, width: 2, dk: 2, dv: 2, atoms: 2, seed: 4 }), prepare: undefined }),
  ];
  fc.assert(
    fc.property(fc.integer({ min: 0, max: families.length - 1 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 1e6 }), fc.constantFrom('wasm' as const, 'js' as const), (fi, extra, blockRows, seed, fold) => {
      const fam = (families[fi] as () => RegressionFamily)();
      const rng = makeRng(seed);
      const n = fam.nParams + extra;
      const P = fam.nParams;
      const q = fam.outputDim;
      const X = new Float64Array(n * fam.inputDim).map(() => rng.normal());
      const Y = new Float64Array(n * q).map(() => rng.normal());
      const theta = new Float64Array(P).map(() => 0.7 * rng.normal());
      const s: Samples = { n, inputDim: fam.inputDim, outputDim: q, X, Y };
      // Materialised: J (n q x P) row by row, then J^T J and J^T r directly.
      const J = new Float64Array(n * q * P);
      const r = new Float64Array(n * q);
      const out = new Float64Array(q);
      const jac = new Float64Array(q * P);
      for (let i = 0; i < n; i++) {
        fam.jacobian(theta, X.subarray(i * fam.inputDim, (i + 1) * fam.inputDim), out, jac);
        J.set(jac, i * q * P);
        for (let c = 0; c < q; c++) r[i * q + c] = (out[c] as number) - (Y[i * q + c] as number);
      }
      const ne = normalEquations(fam, s, theta, blockRows, fold);
      let scaleA = 1e-300;
      let scaleG = 1e-300;
      const A = new Float64Array(P * P);
      const g = new Float64Array(P);
      for (let a = 0; a < P; a++) {
        for (let b = 0; b < P; b++) {
          let t = 0;
          for (let k = 0; k < n * q; k++) t += (J[k * P + a] as number) * (J[k * P + b] as number);
          A[a * P + b] = t;
          scaleA = Math.max(scaleA, Math.abs(t));
        }
        let t = 0;
        for (let k = 0; k < n * q; k++) t += (J[k * P + a] as number) * (r[k] as number);
        g[a] = t;
        scaleG = Math.max(scaleG, Math.abs(t));
      }
      for (let k = 0; k < P * P; k++) assert.ok(Math.abs((ne.JtJ[k] as number) - (A[k] as number)) <= 1e-10 * scaleA, `${fam.name} (${fold}): JtJ[${Math.floor(k / P)}][${k % P}]`);
      for (let k = 0; k < P; k++) assert.ok(Math.abs((ne.Jtr[k] as number) - (g[k] as number)) <= 1e-10 * scaleG, `${fam.name} (${fold}): Jtr[${k}]`);
      const half = 0.5 * r.reduce((t, v) => t + v * v, 0);
      assert.ok(Math.abs(ne.halfSquaredResidual - half) <= 1e-12 * half);
    }),
    { numRuns: 60, seed: 46 },
  );
});

test('LM takes the same iterates with the WebAssembly and the JavaScript fold (prompt mixtures, softmax MoE)', () => {
  const n = 300;
  const problems: Array<() => { tag: string; fam: RegressionFamily; s: Samples; theta0: Float64Array }> = (
    [
      ['vpt', { kind: 'vpt', tokens: 4, width: 4, dk: 4, dv: 4, atoms: 3, seed: 7 }],
      ['kv', { kind: 'kv', tokens: 4, width: 4, dk: 4, dv: 4, atoms: 2, seed: 8 }],
      ['vapt', { kind: 'vapt', tokens: 4, width: 4, dk: 4, dv: 4, atoms: 3, kernel: 1, rank: 4, seed: 9 }],
    ] as const
  ).map(([tag, cfg], j) => () => {
    const fam = promptMixture(cfg);
    const rng = makeRng(20 + j);
    const truthTheta = fam.fromMeasure(randomTruth(fam, rng));
    const s = sampleResponses(fam, truthTheta, fam.sampleInputs(n, rng), 0.1, rng);
    return { tag, fam, s, theta0: Float64Array.from(truthTheta, (v) => v + 0.2 * rng.normal()) };
  });
  problems.push(() => {
    // The 9-parameter MoE above, at its truth plus noise (a well-posed fit: an over-parameterised
    // one that never converges amplifies any rounding difference, whichever fold makes it).
    const rng = makeRng(30);
    const s = sampleResponses(moe, truthTheta, sampleInputs({ kind: 'gaussian', dim: 2 }, n, rng), 0.1, rng);
    return { tag: 'softmax-moe', fam: moe, s, theta0: Float64Array.from(truthTheta, (v) => v + 0.3 * rng.normal()) };
  });
  for (const make of problems) {
    const { tag: name, fam, s, theta0 } = make();
    // blockRows 29: odd blocks on the plain path (the kernel's odd tail on every block).
    for (const [blockRows, maxIterations] of [[64, 1], [29, 3], [64, 40]] as const) {
      const tag = `${name} blockRows=${blockRows} maxIterations=${maxIterations}`;
      const a = leastSquares({ maxIterations, blockRows, fold: 'wasm' }).fitFrom(fam, s, theta0);
      const b = leastSquares({ maxIterations, blockRows, fold: 'js' }).fitFrom(fam, s, theta0);
      assert.equal(a.fold, 'wasm', tag);
      assert.equal(b.fold, 'js', tag);
      assert.ok(a.iterations >= Math.min(3, maxIterations), `${tag}: ${a.iterations} iterations`);
      assertSameIterates(a, b, tag);
    }
  }
});
