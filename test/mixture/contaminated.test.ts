import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { contaminatedMoe } from '../../src/mixture/contaminated.js';
import { expertFamily, type ExpertConfig } from '../../src/study/kinds/config-parts.js';
import { InputError } from '../../src/util/errors.js';
import { makeRng } from '../../src/util/rng.js';
import { centralJacobian, maxRelErr, TOL, vec } from './finite-diff.js';

const experts: ExpertConfig[] = ['linear', 'tanh', 'gelu', 'relu', { kind: 'mlp', activation: 'tanh', hidden: 2 }];

function family(gate: 'softmax' | 'sigmoid', d: number, L: number, expert: ExpertConfig, frozenExpert: ExpertConfig, seed: number): ReturnType<typeof contaminatedMoe> {
  const rng = makeRng(seed);
  const fe = expertFamily(frozenExpert, d);
  const frozen = [{ expert: fe, params: Float64Array.from({ length: fe.nParams }, () => rng.normal()), bias: rng.normal(), beta: Float64Array.from({ length: d }, () => rng.normal()) }];
  return contaminatedMoe({ inputDim: d, gate, frozen, expert: expertFamily(expert, d), atoms: L });
}

test('contaminated MoE: the analytic Jacobian matches central differences (softmax and sigmoid gates, every expert)', () => {
  const configs = fc.record({
    gate: fc.constantFrom('softmax' as const, 'sigmoid' as const),
    d: fc.integer({ min: 1, max: 3 }),
    L: fc.integer({ min: 1, max: 3 }),
    expert: fc.constantFrom(...experts),
    frozen: fc.constantFrom(...experts),
    seed: fc.integer({ min: 1, max: 1000 }),
  });
  fc.assert(
    fc.property(
      configs.chain((c) => {
        const fam = family(c.gate, c.d, c.L, c.expert, c.frozen, c.seed);
        return fc.tuple(fc.constant(fam), fc.constant(c.expert), vec(fam.nParams), vec(fam.inputDim));
      }),
      ([fam, expert, theta, x]) => {
        const out = new Float64Array(1);
        const jac = new Float64Array(fam.nParams).fill(Number.NaN);
        fam.jacobian(theta, x, out, jac);
        const pred = new Float64Array(1);
        fam.predict(theta, x, pred);
        assert.ok(Math.abs((out[0] as number) - (pred[0] as number)) < 1e-12);
        assert.ok(jac.every(Number.isFinite), 'every Jacobian entry written');
        const fd = centralJacobian((w, o) => fam.predict(w, x, o), theta, 1);
        if (expert === 'relu' && maxRelErr(jac, fd) >= TOL) return; // a difference straddling the kink
        assert.ok(maxRelErr(jac, fd) < TOL, `${fam.name}: ${maxRelErr(jac, fd)}`);
      },
    ),
    { numRuns: 200 },
  );
});

test('contaminated MoE: measures carry only the estimated atoms (weight exp(b), beta, expert blocks) and round-trip', () => {
  const fam = family('softmax', 2, 2, 'tanh', 'linear', 4);
  const theta = fam.sampleTheta(makeRng(5));
  theta[0] = -0.4;
  const g = fam.toMeasure(theta);
  assert.equal(g.atoms.length, 2);
  assert.deepEqual(Object.keys(g.atoms[0]?.params ?? {}), ['beta', 'W', 'c']);
  assert.ok(Math.abs((g.atoms[0]?.weight as number) - Math.exp(-0.4)) < 1e-15);
  assert.ok(maxRelErr(fam.fromMeasure(g), theta) < 1e-14);
  // With a softmax gate and no frozen expert the gate is not anchored: refused.
  assert.throws(() => contaminatedMoe({ inputDim: 1, gate: 'softmax', frozen: [], expert: expertFamily('tanh', 1), atoms: 1 }), (e: unknown) => e instanceof InputError && e.field === 'frozen');
});

test('contaminated MoE: the frozen expert takes the rest of the softmax mass', () => {
  // One frozen constant-zero linear expert (A = 0, a = 0) and one prompt: f(x) = sigmoid(b + beta x) e(x).
  const fz = expertFamily('linear', 1);
  const fam = contaminatedMoe({ inputDim: 1, gate: 'softmax', frozen: [{ expert: fz, params: new Float64Array(2), bias: 0, beta: new Float64Array(1) }], expert: expertFamily('linear', 1), atoms: 1 });
  const theta = Float64Array.of(0.3, -1.2, 2, 0.5); // b, beta, A, a
  const x = Float64Array.of(0.7);
  const out = new Float64Array(1);
  fam.predict(theta, x, out);
  const s = 0.3 - 1.2 * 0.7;
  const expect = (1 / (1 + Math.exp(-s))) * (2 * 0.7 + 0.5);
  assert.ok(Math.abs((out[0] as number) - expect) < 1e-14);
});
