import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { affineScore, quadraticScore, softmaxGate, type ScoreFamily } from '../../src/mixture/gates/index.js';
import { centralJacobian, maxRelErr, TOL, vec } from './finite-diff.js';

const families: Record<string, (d: number) => ScoreFamily> = { affine: affineScore, quadratic: quadraticScore };

for (const [name, make] of Object.entries(families)) {
  test(`${name} score: gradients in parameters and in x match central differences`, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((d) => fc.tuple(fc.constant(d), vec(make(d).nParams), vec(d))),
        ([d, p, x]) => {
          const s = make(d);
          const g = new Float64Array(s.nParams);
          const v = s.gradParams(p, 0, x, g, 0);
          assert.ok(Math.abs(v - s.value(p, 0, x)) <= 1e-12 * Math.max(1, Math.abs(v)));
          const fdP = centralJacobian((w, out) => (out[0] = s.value(w, 0, x)), p, 1);
          assert.ok(maxRelErr(g, fdP) < TOL, `params: ${maxRelErr(g, fdP)}`);
          const gx = new Float64Array(d);
          assert.ok(Math.abs(s.gradInput(p, 0, x, gx) - v) <= 1e-12 * Math.max(1, Math.abs(v)));
          const fdX = centralJacobian((w, out) => (out[0] = s.value(p, 0, w)), x, 1);
          assert.ok(maxRelErr(gx, fdX) < TOL, `input: ${maxRelErr(gx, fdX)}`);
        },
      ),
      { numRuns: 60 },
    );
  });

  test(`softmax gate with ${name} scores: probabilities and their Jacobians in parameters and x`, () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 })).chain(([d, L]) => fc.tuple(fc.constant(d), fc.constant(L), vec(softmaxGate(make(d), L).nParams), vec(d))),
        ([d, L, p, x]) => {
          const gate = softmaxGate(make(d), L);
          const probs = new Float64Array(L);
          const jac = new Float64Array(L * gate.nParams);
          gate.jacobianParams(p, x, probs, jac);
          assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-12);
          assert.ok(probs.every((g) => g >= 0));
          const fdP = centralJacobian((w, out) => gate.probabilities(w, x, out), p, L);
          assert.ok(maxRelErr(jac, fdP) < TOL, `params: ${maxRelErr(jac, fdP)}`);
          const jx = new Float64Array(L * d);
          gate.jacobianInput(p, x, probs, jx);
          const fdX = centralJacobian((w, out) => gate.probabilities(p, w, out), x, L);
          assert.ok(maxRelErr(jx, fdX) < TOL, `input: ${maxRelErr(jx, fdX)}`);
        },
      ),
      { numRuns: 60 },
    );
  });
}

test('quadratic score by hand: d = 2, beta = (1, -1), Q = [[2, 3], [., 4]] at x = (1, 2)', () => {
  const s = quadraticScore(2);
  const p = Float64Array.from([1, -1, 2, 3, 4]);
  const x = Float64Array.from([1, 2]);
  // 1 - 2 + 2*1 + 3*1*2 + 4*4 = 23; d/dx1 = 1 + 4*1 + 3*2 = 11; d/dx2 = -1 + 3*1 + 8*2 = 18.
  const g = new Float64Array(2);
  assert.equal(s.gradInput(p, 0, x, g), 23);
  assert.deepEqual(Array.from(g), [11, 18]);
});
