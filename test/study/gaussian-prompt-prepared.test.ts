import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { gaussianPromptFamily, type GaussianPromptConfig } from '../../src/study/kinds/gaussian-prompt.js';
import { withWeightFloor } from '../../src/mixture/weight-floor.js';
import type { RegressionFamily } from '../../src/mixture/family.js';
import { sampleResponses } from '../../src/mixture/sample.js';
import { leastSquares } from '../../src/estimate/least-squares.js';
import { promptMixtureFamilies } from '../../src/study/kinds/prompt-mixture.js';
import { InputError } from '../../src/util/errors.js';
import { makeRng, type Rng } from '../../src/util/rng.js';
import { relErr } from '../mixture/finite-diff.js';

const randn = (rng: Rng, k: number, sd = 1): Float64Array => Float64Array.from({ length: k }, () => sd * rng.normal());

interface Case {
  readonly prompt: 'vpt' | 'vapt';
  readonly N: number;
  readonly d: number;
  readonly L: number;
  readonly r: number;
  readonly gateSd: number;
  /** Weight floor, or 0 for none. */
  readonly floor: number;
  readonly seed: number;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  prompt: fc.constantFrom('vpt' as const, 'vapt' as const),
  N: fc.integer({ min: 1, max: 6 }),
  d: fc.integer({ min: 1, max: 5 }),
  L: fc.integer({ min: 1, max: 4 }),
  // r > 12 exercises the uncached M_D path.
  r: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 13, max: 14 })),
  gateSd: fc.double({ min: 0.2, max: 2, noNaN: true }),
  floor: fc.oneof(fc.constant(0), fc.double({ min: 0.01, max: 0.4, noNaN: true })),
  seed: fc.integer({ min: 0, max: 1e6 }),
});

function build(c: Case): { fam: RegressionFamily; cfg: GaussianPromptConfig; rng: Rng } {
  const rng = makeRng(c.seed);
  const cfg: GaussianPromptConfig = {
    prompt: c.prompt,
    N: c.N,
    d: c.d,
    L: c.L,
    gateSd: c.gateSd,
    WV: randn(rng, c.d * c.d, 1 / Math.sqrt(c.d)),
    W1: randn(rng, c.r * c.d, 1 / Math.sqrt(c.d)),
    W2: randn(rng, c.d * c.r, 1 / Math.sqrt(c.r)),
    r: c.r,
  };
  const g = gaussianPromptFamily(cfg);
  return { fam: c.floor > 0 ? withWeightFloor(g, c.floor) : g, cfg, rng };
}

/** Prepared predictRows / jacobianRows against predict / jacobian on n random token matrices. */
function checkPrepared(c: Case, n: number): void {
  const { fam, rng } = build(c);
  const q = fam.outputDim;
  const P = fam.nParams;
  const theta = randn(rng, P);
  const X = randn(rng, n * fam.inputDim);
  const prep = fam.prepare?.({ n, inputDim: fam.inputDim, outputDim: q, X, Y: new Float64Array(n * q) });
  assert.ok(prep !== undefined, `${fam.name}: no prepared path`);
  prep.bind(theta);
  const stride = n * q + 2; // slack: the block stride need not equal count q
  const out = new Float64Array(n * q);
  const outP = new Float64Array(n * q);
  const jt = new Float64Array(P * stride).fill(NaN);
  prep.jacobianRows(0, n, out, jt, stride);
  prep.predictRows(0, n, outP);
  const y = new Float64Array(q);
  const jac = new Float64Array(q * P);
  const one = new Float64Array(q);
  const jtOne = new Float64Array(P * q);
  for (let i = 0; i < n; i++) {
    const x = X.slice(i * fam.inputDim, (i + 1) * fam.inputDim);
    fam.jacobian(theta, x, y, jac);
    const tag = `${fam.name}, sample ${i}`;
    assert.ok(relErr(out.subarray(i * q, (i + 1) * q), y) <= 1e-10, `${tag}: jacobianRows output`);
    assert.ok(relErr(outP.subarray(i * q, (i + 1) * q), y) <= 1e-10, `${tag}: predictRows`);
    fam.predict(theta, x, one);
    assert.ok(relErr(outP.subarray(i * q, (i + 1) * q), one) <= 1e-10, `${tag}: predictRows against predict`);
    const mine = new Float64Array(q * P);
    for (let a = 0; a < P; a++) for (let r = 0; r < q; r++) mine[r * P + a] = jt[a * stride + i * q + r] as number;
    assert.ok(relErr(mine, jac) <= 1e-10, `${tag}: Jacobian ${relErr(mine, jac)}`);
    // One sample at a time, at its own offset: the same rows.
    prep.jacobianRows(i, 1, one, jtOne, q);
    for (let a = 0; a < P; a++) for (let r = 0; r < q; r++) assert.equal(jtOne[a * q + r], mine[r * P + a], `${tag}: single-sample call`);
  }
  assert.deepEqual(prep.identityBlocks ?? [], [], 'no column of this family is an identity block');
}

test('Gaussian-gated prompt mixtures: prepared predictRows / jacobianRows equal predict / jacobian (VPT, VAPT, with and without the weight floor)', () => {
  fc.assert(
    fc.property(caseArb, fc.integer({ min: 1, max: 6 }), (c, n) => checkPrepared(c, n)),
    { numRuns: 300, seed: 1202 },
  );
});

test('Gaussian-gated prompt mixtures: the prepared path is rebound by bind and rejects a theta of the wrong length', () => {
  const c: Case = { prompt: 'vapt', N: 4, d: 4, L: 3, r: 4, gateSd: 0.5, floor: 0, seed: 3 };
  const { fam, rng } = build(c);
  const n = 5;
  const X = randn(rng, n * fam.inputDim);
  const prep = fam.prepare?.({ n, inputDim: fam.inputDim, outputDim: fam.outputDim, X, Y: new Float64Array(n * fam.outputDim) });
  assert.ok(prep !== undefined);
  const a = randn(rng, fam.nParams);
  const b = randn(rng, fam.nParams);
  const outA = new Float64Array(n * fam.outputDim);
  const outB = new Float64Array(n * fam.outputDim);
  prep.bind(a);
  prep.predictRows(0, n, outA);
  prep.bind(b);
  prep.predictRows(0, n, outB);
  const y = new Float64Array(fam.outputDim);
  fam.predict(b, X.slice(0, fam.inputDim), y);
  assert.ok(relErr(outB.subarray(0, fam.outputDim), y) <= 1e-10);
  assert.notDeepEqual(outA, outB);
  assert.throws(
    () => prep.bind(new Float64Array(fam.nParams - 1)),
    (e: unknown) => e instanceof InputError && e.field === 'theta',
  );
  assert.throws(
    () => fam.prepare?.({ n, inputDim: fam.inputDim, outputDim: fam.outputDim, X: X.subarray(1), Y: new Float64Array(n * fam.outputDim) }),
    (e: unknown) => e instanceof InputError && e.field === 'samples.X',
  );
});

test('Gaussian-gated prompt mixtures: LM takes the same iterates with and without the prepared path', () => {
  const cases: Case[] = [
    { prompt: 'vpt', N: 4, d: 4, L: 3, r: 4, gateSd: 0.5, floor: 0, seed: 11 },
    { prompt: 'vapt', N: 4, d: 4, L: 3, r: 4, gateSd: 0.5, floor: 0, seed: 12 },
    { prompt: 'vpt', N: 3, d: 2, L: 2, r: 3, gateSd: 0.8, floor: 0.2, seed: 13 },
    { prompt: 'vapt', N: 5, d: 3, L: 2, r: 2, gateSd: 0.4, floor: 0.1, seed: 14 },
  ];
  for (const c of cases) {
    const { fam, rng } = build(c);
    const plain: RegressionFamily = { ...fam, prepare: undefined };
    const truthTheta = randn(rng, fam.nParams, 0.7);
    const n = 300;
    const s = sampleResponses(fam, truthTheta, randn(rng, n * fam.inputDim), 0.1, rng);
    const theta0 = Float64Array.from(truthTheta, (v) => v + 0.3 * rng.normal());
    // Early iterates (before convergence forgets the path), a longer run, and blocks that are not whole samples on the plain path.
    for (const [blockRows, maxIterations] of [[64, 1], [64, 3], [64, 40], [30, 40]] as const) {
      const lm = leastSquares({ maxIterations, blockRows });
      const a = lm.fitFrom(fam, s, theta0);
      const b = lm.fitFrom(plain, s, theta0);
      const tag = `${fam.name} blockRows=${blockRows} maxIterations=${maxIterations}`;
      assert.ok(a.iterations >= Math.min(3, maxIterations), tag);
      assert.equal(a.iterations, b.iterations, tag);
      assert.equal(a.stopReason, b.stopReason, tag);
      assert.equal(a.jacobianEvaluations, b.jacobianEvaluations, tag);
      assert.equal(a.functionEvaluations, b.functionEvaluations, tag);
      assert.ok(Math.abs(a.objective - b.objective) <= 1e-10 * b.objective, `${tag}: objective ${a.objective} vs ${b.objective}`);
      assert.ok(relErr(a.theta, b.theta) <= 1e-10, `${tag}: theta ${relErr(a.theta, b.theta)}`);
    }
  }
});

test('the study builds the Gaussian-gated families with their prepared path', () => {
  for (const prompt of ['vpt', 'vapt'] as const) {
    const { family } = promptMixtureFamilies({ kind: 'prompt-mixture', prompt, gate: 'gaussian', N: 4, d: 4, Lstar: 2, L: 3, r: 4, gateSd: 0.5, truthSeed: 7 });
    assert.ok(family.prepare !== undefined, prompt);
    assert.equal(family.nParams, 3 * (1 + 4 + 4));
  }
});
