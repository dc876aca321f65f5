import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { softmaxMoe, type ExpertSpec, type GateSpec } from '../../src/mixture/softmax-moe.js';
import { InputError } from '../../src/util/errors.js';
import { makeRng } from '../../src/util/rng.js';
import { centralJacobian, maxRelErr, TOL, vec } from './finite-diff.js';

const gates: GateSpec[] = [{ kind: 'affine' }, { kind: 'quadratic' }];
const experts: ExpertSpec[] = [
  { kind: 'constant' },
  { kind: 'affine' },
  { kind: 'mlp', activation: 'tanh', hidden: 2 },
  { kind: 'mlp', activation: 'gelu', hidden: 1, outputLayer: true },
  { kind: 'mlp', activation: 'relu', hidden: 1 },
];

test('softmax MoE: the family Jacobian matches central differences for every gate x expert x anchor', () => {
  const configs = fc.record({
    atoms: fc.integer({ min: 1, max: 3 }),
    inputDim: fc.integer({ min: 1, max: 3 }),
    outputDim: fc.integer({ min: 1, max: 2 }),
    gate: fc.constantFrom(...gates),
    expert: fc.constantFrom(...experts),
    anchor: fc.constantFrom('none' as const, 'last' as const),
  });
  fc.assert(
    fc.property(
      configs.chain((c) => {
        const fam = softmaxMoe(c);
        return fc.tuple(fc.constant(fam), vec(fam.nParams), vec(fam.inputDim));
      }),
      ([fam, theta, x]) => {
        const q = fam.outputDim;
        const out = new Float64Array(q);
        const jac = new Float64Array(q * fam.nParams).fill(Number.NaN);
        fam.jacobian(theta, x, out, jac);
        const pred = new Float64Array(q);
        fam.predict(theta, x, pred);
        assert.ok(maxRelErr(out, pred) < 1e-12);
        const fd = centralJacobian((w, o) => fam.predict(w, x, o), theta, q);
        // ReLU kinks: skip the rare draws where a finite difference straddles one.
        if (fam.expert.kind === 'mlp-relu' && maxRelErr(jac, fd) >= TOL) return;
        assert.ok(maxRelErr(jac, fd) < TOL, `${fam.name}: ${maxRelErr(jac, fd)}`);
      },
    ),
    { numRuns: 200 },
  );
});

test('softmax MoE: toMeasure / fromMeasure round trip, weights exp(b), named blocks', () => {
  const fam = softmaxMoe({ atoms: 3, inputDim: 2, gate: { kind: 'affine' }, expert: { kind: 'mlp', activation: 'tanh' } });
  const theta = fam.sampleTheta(makeRng(3));
  theta[0] = 0.7;
  const g = fam.toMeasure(theta);
  assert.equal(g.atoms.length, 3);
  assert.ok(Math.abs((g.atoms[0]?.weight as number) - Math.exp(0.7)) < 1e-15);
  assert.deepEqual(Object.keys(g.atoms[0]?.params ?? {}), ['beta', 'W', 'c', 'V', 'v0']);
  assert.ok(maxRelErr(fam.fromMeasure(g), theta) < 1e-15); // log(exp(b)) up to rounding
});

test('softmax MoE anchored: fromMeasure of a translated measure predicts the same regression function', () => {
  const free = softmaxMoe({ atoms: 3, inputDim: 2, gate: { kind: 'affine' }, expert: { kind: 'affine' } });
  const anchored = softmaxMoe({ atoms: 3, inputDim: 2, gate: { kind: 'affine' }, expert: { kind: 'affine' }, anchor: 'last' });
  assert.equal(anchored.nParams, free.nParams - 3);
  const theta = free.sampleTheta(makeRng(5));
  theta[0] = 0.3;
  const g = free.toMeasure(theta);
  const ta = anchored.fromMeasure(g);
  const back = anchored.toMeasure(ta);
  assert.equal(back.atoms[2]?.weight, 1);
  const x = Float64Array.from([0.4, -1.2]);
  const a = new Float64Array(1);
  const b = new Float64Array(1);
  free.predict(theta, x, a);
  anchored.predict(ta, x, b);
  assert.ok(Math.abs((a[0] as number) - (b[0] as number)) < 1e-12);
});

test('softmax MoE by hand: two constant experts, equal gates at x = 0', () => {
  const fam = softmaxMoe({ atoms: 2, inputDim: 1, gate: { kind: 'affine' }, expert: { kind: 'constant' } });
  // [b1, beta1, eta1, b2, beta2, eta2]
  const out = new Float64Array(1);
  fam.predict(Float64Array.from([0, 5, 1, 0, -5, 3]), Float64Array.from([0]), out);
  assert.equal(out[0], 2);
  fam.predict(Float64Array.from([Math.log(3), 0, 1, 0, 0, 3]), Float64Array.from([7]), out);
  assert.ok(Math.abs((out[0] as number) - 1.5) < 1e-15); // 3/4 * 1 + 1/4 * 3
});

test('softmax MoE: bad configs name the field', () => {
  const bad = (f: () => unknown, field: string): void => assert.throws(f, (e: unknown) => e instanceof InputError && e.field === field);
  bad(() => softmaxMoe({ atoms: 0, inputDim: 2, gate: { kind: 'affine' }, expert: { kind: 'constant' } }), 'atoms');
  bad(() => softmaxMoe({ atoms: 2, inputDim: 1.5, gate: { kind: 'affine' }, expert: { kind: 'constant' } }), 'inputDim');
  bad(() => softmaxMoe({ atoms: 2, inputDim: 2, gate: { kind: 'cubic' } as unknown as GateSpec, expert: { kind: 'constant' } }), 'gate.kind');
  const fam = softmaxMoe({ atoms: 2, inputDim: 2, gate: { kind: 'affine' }, expert: { kind: 'constant' } });
  bad(() => fam.fromMeasure({ atoms: [] }), 'measure.atoms');
  bad(() => fam.fromMeasure({ atoms: [{ params: { beta: new Float64Array(3), eta: new Float64Array(1) } }, { params: {} }] }), 'measure.atoms[0].params.beta');
});
