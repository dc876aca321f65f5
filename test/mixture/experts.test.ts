import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { affineExpert, constantExpert, mlpExpert, type ExpertFamily, type ActivationName } from '../../src/mixture/experts/index.js';
import { InputError } from '../../src/util/errors.js';
import { centralJacobian, maxRelErr, TOL, vec } from './finite-diff.js';

interface Case {
  readonly expert: ExpertFamily;
  readonly p: Float64Array;
  readonly x: Float64Array;
}

function checkExpert({ expert: e, p, x }: Case): void {
  const q = e.outputDim;
  const d = e.inputDim;
  const out = new Float64Array(q);
  const jac = new Float64Array(q * e.nParams).fill(Number.NaN); // every entry must be written
  e.jacobian(p, 0, x, out, 0, jac, e.nParams, 0);
  const v = new Float64Array(q);
  e.value(p, 0, x, v, 0);
  assert.deepEqual(Array.from(out), Array.from(v));
  const fdP = centralJacobian((w, o) => e.value(w, 0, x, o, 0), p, q);
  assert.ok(maxRelErr(jac, fdP) < TOL, `${e.kind} params: ${maxRelErr(jac, fdP)}`);
  const jx = new Float64Array(q * d);
  e.jacobianInput(p, 0, x, jx);
  const fdX = centralJacobian((w, o) => e.value(p, 0, w, o, 0), x, q);
  assert.ok(maxRelErr(jx, fdX) < TOL, `${e.kind} input: ${maxRelErr(jx, fdX)}`);
}

const dims = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }));
const withParams = (make: (d: number, q: number) => ExpertFamily): fc.Arbitrary<Case> =>
  dims.chain(([d, q]) => {
    const expert = make(d, q);
    return fc.record({ expert: fc.constant(expert), p: vec(expert.nParams), x: vec(d) });
  });

test('constant expert: Jacobians match central differences', () => {
  fc.assert(fc.property(withParams(constantExpert), checkExpert), { numRuns: 30 });
});

test('affine expert: Jacobians match central differences', () => {
  fc.assert(fc.property(withParams(affineExpert), checkExpert), { numRuns: 50 });
});

for (const activation of ['tanh', 'gelu', 'relu'] as ActivationName[]) {
  test(`one-hidden-layer ${activation} expert (with and without output layer): Jacobians match central differences`, () => {
    const arb = fc.tuple(dims, fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.boolean()).chain(([[d, q], h, outputLayer, outputBias]) => {
      const expert = mlpExpert(d, q, { activation, hidden: outputLayer ? h : q, outputLayer, outputBias });
      return fc.record({ expert: fc.constant(expert), p: vec(expert.nParams), x: vec(d) });
    });
    // ReLU is not differentiable at 0: keep pre-activations away from the kink.
    const awayFromKink = ({ expert, p, x }: Case): boolean => {
      if (activation !== 'relu') return true;
      const d = expert.inputDim;
      const h = expert.blocks[1]?.size ?? 0;
      for (let k = 0; k < h; k++) {
        let z = p[h * d + k] as number;
        for (let l = 0; l < d; l++) z += (p[k * d + l] as number) * (x[l] as number);
        if (Math.abs(z) < 1e-3) return false;
      }
      return true;
    };
    fc.assert(
      fc.property(arb, (c) => {
        fc.pre(awayFromKink(c));
        checkExpert(c);
      }),
      { numRuns: 80 },
    );
  });
}

test('mlp expert by hand: tanh, h = 1, no output layer is sigma(w^T x + c)', () => {
  const e = mlpExpert(2, 1, { activation: 'tanh', outputLayer: false });
  const out = new Float64Array(1);
  e.value(Float64Array.from([0.5, -1, 0.25]), 0, Float64Array.from([2, 1]), out, 0);
  assert.equal(out[0], Math.tanh(0.5 * 2 - 1 + 0.25));
  assert.deepEqual(e.blocks.map((b) => b.name), ['W', 'c']);
});

test('gelu is x Phi(x): gelu(1) = 0.8413447460685429', () => {
  const e = mlpExpert(1, 1, { activation: 'gelu', outputLayer: false });
  const out = new Float64Array(1);
  e.value(Float64Array.from([1, 0]), 0, Float64Array.from([1]), out, 0);
  assert.ok(Math.abs((out[0] as number) - 0.8413447460685429) < 1e-12);
});

test('mlp expert without output layer needs hidden = outputDim', () => {
  assert.throws(() => mlpExpert(2, 2, { activation: 'relu', hidden: 3, outputLayer: false }), (e: unknown) => e instanceof InputError && e.field === 'expert.hidden');
});
