import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { gaussianPromptFamily } from '../../src/study/kinds/gaussian-prompt.js';
import { withGateFloor } from '../../src/mixture/gate-floor.js';
import { promptMixtureFamilies } from '../../src/study/kinds/prompt-mixture.js';
import { makeRng, type Rng } from '../../src/util/rng.js';
import { InputError } from '../../src/util/errors.js';
import { centralJacobian, maxRelErr, TOL } from './finite-diff.js';
import { checkPreparedRows } from './prepared-check.js';

const randn = (rng: Rng, k: number, sd = 1): Float64Array => Float64Array.from({ length: k }, () => sd * rng.normal());

function floored(prompt: 'vpt' | 'vapt', N: number, d: number, L: number, f: number, R: number, seed: number): ReturnType<typeof withGateFloor> {
  const rng = makeRng(seed);
  const r = 3;
  const inner = gaussianPromptFamily({ prompt, N, d, L, gateSd: 0.5, WV: randn(rng, d * d, 1 / Math.sqrt(d)), W1: randn(rng, r * d, 1 / Math.sqrt(d)), W2: randn(rng, d * r, 1 / Math.sqrt(r)), r });
  return withGateFloor(inner, { weight: f, bound: R, gateDim: d });
}

const caseArb = fc.record({
  prompt: fc.constantFrom('vpt' as const, 'vapt' as const),
  N: fc.integer({ min: 1, max: 4 }),
  d: fc.integer({ min: 1, max: 4 }),
  L: fc.integer({ min: 2, max: 4 }),
  frac: fc.double({ min: 0.05, max: 0.9, noNaN: true }),
  R: fc.double({ min: 0.3, max: 3, noNaN: true }),
  seed: fc.nat(1e6),
});

test('gate floor: every reported measure has canonical weights >= f summing to 1, weighted gate means 0, |c| < 2R (property)', () => {
  fc.assert(
    fc.property(caseArb, ({ prompt, N, d, L, frac, R, seed }) => {
      const f = frac / L;
      const fam = floored(prompt, N, d, L, f, R, seed);
      const theta = randn(makeRng(seed + 1), fam.nParams, 3);
      const g = fam.toMeasure(theta);
      const w = g.atoms.map((a) => a.weight as number);
      assert.ok(Math.abs(w.reduce((s, x) => s + x, 0) - 1) < 1e-12);
      for (const x of w) assert.ok(x >= f * (1 - 1e-12), `weight ${x} < floor ${f}`);
      for (let a = 0; a < d; a++) {
        const m = g.atoms.reduce((s, at) => s + (at.weight as number) * ((at.params.c as Float64Array)[a] as number), 0);
        assert.ok(Math.abs(m) < 1e-9, `weighted gate mean ${m}`);
        for (const at of g.atoms) assert.ok(Math.abs((at.params.c as Float64Array)[a] as number) < 2 * R);
      }
    }),
    { seed: 11, numRuns: 60 },
  );
});

test('gate floor: the Jacobian matches finite differences and the prepared path matches predict / jacobian (property)', () => {
  fc.assert(
    fc.property(caseArb, ({ prompt, N, d, L, frac, R, seed }) => {
      const fam = floored(prompt, N, d, L, frac / L, R, seed);
      const rng = makeRng(seed + 2);
      const theta = randn(rng, fam.nParams);
      const x = randn(rng, fam.inputDim);
      const out = new Float64Array(fam.outputDim);
      const jac = new Float64Array(fam.outputDim * fam.nParams);
      fam.jacobian(theta, x, out, jac);
      const fd = centralJacobian((t, y) => fam.predict(t, x, y), theta, fam.outputDim);
      assert.ok(maxRelErr(jac, fd) < TOL, `max rel. |fd - analytic| = ${maxRelErr(jac, fd)}`);
      const n = 4;
      const X = randn(rng, n * fam.inputDim);
      const prep = fam.prepare?.({ n, inputDim: fam.inputDim, outputDim: fam.outputDim, X, Y: new Float64Array(n * fam.outputDim) });
      assert.ok(prep !== undefined);
      checkPreparedRows(fam, prep, theta, X, n);
    }),
    { seed: 12, numRuns: 25 },
  );
});

test('gate floor: a canonical measure above the floor and inside the bound survives fromMeasure / toMeasure', () => {
  const fam = floored('vpt', 4, 3, 3, 0.1, 1.5, 3);
  const rng = makeRng(4);
  const inner = { atoms: [0.5, 0.3, 0.2].map((weight) => ({ weight, params: { c: randn(rng, 3, 0.3), p: randn(rng, 3) } })) };
  const g = fam.toMeasure(fam.fromMeasure(inner));
  const again = fam.toMeasure(fam.fromMeasure(g));
  g.atoms.forEach((a, j) => {
    assert.ok(Math.abs((a.weight as number) - (again.atoms[j]?.weight as number)) < 1e-12);
    assert.ok(maxRelErr(a.params.c as Float64Array, again.atoms[j]?.params.c as Float64Array) < 1e-12);
    assert.deepEqual(a.params.p, again.atoms[j]?.params.p);
  });
  assert.throws(() => floored('vpt', 4, 3, 3, 1 / 3, 1.5, 3), (e: unknown) => e instanceof InputError && e.field === 'weightFloor');
  assert.throws(() => floored('vpt', 4, 3, 3, 0.1, 0, 3), (e: unknown) => e instanceof InputError && e.field === 'gateBound');
});

test('gate floor: a study model with gate "gaussian" and weightFloor builds the floored family', () => {
  const { family } = promptMixtureFamilies({ kind: 'prompt-mixture', prompt: 'vpt', gate: 'gaussian', L: 3, weightFloor: 0.1 });
  assert.match(family.name, /gate weights >= 0.1, \|gate means\| < 0.5/);
});
