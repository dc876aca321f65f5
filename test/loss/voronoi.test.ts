import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Atom, MixingMeasure } from '../../src/mixture/measure.js';
import { voronoiBreakdown, voronoiLoss, type VoronoiOptions } from '../../src/loss/voronoi.js';
import { gaussianTypeI, gaussianTypeII, hoNguyenR, presetLoss, softmaxD1 } from '../../src/loss/presets.js';
import { InputError } from '../../src/util/errors.js';

const atom = (weight: number | undefined, params: Record<string, number[]>): Atom => ({
  ...(weight === undefined ? {} : { weight }),
  params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Float64Array.from(v)])),
});

// Arbitrary weighted measures with Gaussian-gated blocks (d = 1 or 2), atoms well separated.
const gaussianMeasure = fc.record({ k: fc.integer({ min: 1, max: 4 }), d: fc.integer({ min: 1, max: 2 }), seed: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 64, maxLength: 64 }) })
  .map(({ k, d, seed }): MixingMeasure => {
    let t = 0;
    const next = () => seed[t++ % seed.length] as number;
    return {
      atoms: Array.from({ length: k }, (_, j) => atom(0.2 + 0.1 * j + 0.05 * Math.abs(next()), {
        c: Array.from({ length: d }, () => 10 * j + next()),
        Gamma: Array.from({ length: d * d }, () => 1 + 0.1 * next()),
        A: Array.from({ length: d }, () => next()),
        b: [next()],
        nu: [1 + 0.1 * next()],
      })),
    };
  });

const presets: [string, VoronoiOptions][] = [
  ['D1', softmaxD1()],
  ['typeI', gaussianTypeI()],
  ['typeII', gaussianTypeII()],
  ['general (defaults)', {}],
  ['general unweighted', { weighAtoms: false, weightTerm: false, exponent: (_p, m) => (m === 1 ? 1 : 3) }],
];

function permute<T>(xs: ReadonlyArray<T>, keys: number[]): T[] {
  return xs.map((x, i) => [x, keys[i % keys.length] as number] as const).sort((a, b) => a[1] - b[1]).map(([x]) => x);
}

for (const [name, opts] of presets) {
  test(`${name}: zero at the truth, invariant under permuting fitted atoms, positive away from the truth`, () => {
    fc.assert(fc.property(gaussianMeasure, fc.array(fc.integer(), { minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 4 }), fc.double({ min: 0.01, max: 0.5, noNaN: true }), (truth, keys, which, delta) => {
      assert.equal(voronoiLoss(truth, truth, opts), 0);
      // Over-specified fit: split the first atom in two (same parameters, halved weights) -> still 0 with weights.
      const a0 = truth.atoms[0] as Atom;
      const split: MixingMeasure = { atoms: [{ ...a0, weight: (a0.weight as number) / 2 }, { ...a0, weight: (a0.weight as number) / 2 }, ...truth.atoms.slice(1)] };
      if (opts.weightTerm !== false) assert.equal(voronoiLoss(split, truth, opts), 0);
      // Perturbed fit.
      const blocks = ['c', 'Gamma', 'A', 'b', 'nu'];
      const p = blocks[which] as string;
      const fitted: MixingMeasure = {
        atoms: truth.atoms.map((a, j) => j !== 0 ? a : { ...a, params: { ...a.params, [p]: (a.params[p] as Float64Array).map((v, i) => (i === 0 ? v + delta : v)) } }),
      };
      const L = voronoiLoss(fitted, truth, opts);
      assert.ok(L > 0, `loss ${L}`);
      const perm: MixingMeasure = { atoms: permute(fitted.atoms, keys) };
      assert.ok(Math.abs(voronoiLoss(perm, truth, opts) - L) <= 1e-15 * Math.max(1, L));
      const permSplit: MixingMeasure = { atoms: permute(split.atoms, keys) };
      assert.ok(Math.abs(voronoiLoss(permSplit, truth, opts) - voronoiLoss(split, truth, opts)) <= 1e-15);
      // A weight error alone is positive when weights count.
      if (opts.weightTerm !== false) {
        const w: MixingMeasure = { atoms: truth.atoms.map((a, j) => (j === 0 ? { ...a, weight: (a.weight as number) + delta } : a)) };
        assert.ok(voronoiLoss(w, truth, opts) > 0);
      }
    }), { numRuns: 60 });
  });
}

test('hand-checked: softmax D1', () => {
  const truth = { atoms: [atom(1, { beta: [0, 0], eta: [1] }), atom(2, { beta: [1, 1], eta: [-1] })] };
  const fitted = { atoms: [atom(0.5, { beta: [0.1, 0], eta: [1] }), atom(0.6, { beta: [0, 0], eta: [1.2] }), atom(2.5, { beta: [1, 1], eta: [-1.3] })] };
  // cell 0 (2 atoms, exponent 2): 0.5 * 0.1^2 + 0.6 * 0.2^2 = 0.005 + 0.024; cell 1 (singleton): 2.5 * 0.3 = 0.75;
  // weights: |1.1 - 1| + |2.5 - 2| = 0.6. Total 1.379.
  const b = voronoiBreakdown(fitted, truth, softmaxD1());
  assert.deepEqual(b.cellOf, [0, 0, 1]);
  assert.ok(Math.abs(b.total - 1.379) < 1e-12, String(b.total));
  assert.ok(Math.abs(b.weightTerm - 0.6) < 1e-12);
  assert.ok(Math.abs(presetLoss('D1', fitted, truth) - 1.379) < 1e-12);
});

const g = (pi: number, c: number, Gamma: number, A: number, b: number, nu: number): Atom => atom(pi, { c: [c], Gamma: [Gamma], A: [A], b: [b], nu: [nu] });

test('hand-checked: Gaussian-gated type I (cell of 2, r = 4) and a singleton', () => {
  const truth = { atoms: [g(0.6, 1, 1, 0, 0, 1), g(0.4, -1, 1, 1, 1, 1)] };
  const fitted = { atoms: [g(0.3, 1.1, 1, 0, 0, 1), g(0.3, 0.9, 1.2, 0, 0, 1), g(0.4, -1, 1, 1.5, 1, 1)] };
  // 0.3 * 0.1^4 + 0.3 * (0.1^4 + 0.2^(4/2)) + 0.4 * 0.5 = 0.00003 + 0.01203 + 0.2 = 0.21206; weights match.
  assert.ok(Math.abs(presetLoss('typeI', fitted, truth) - 0.21206) < 1e-12);
});

test('hand-checked: type I against type II in a cell of 3 (r = 6) around a true c = 0', () => {
  const truth = { atoms: [g(0.6, 0, 1, 0, 0, 1), g(0.4, 5, 1, 1, 1, 1)] };
  const fitted = { atoms: [g(0.2, 0.1, 1, 0, 0, 1), g(0.2, -0.1, 1, 0.2, 0, 1), g(0.2, 0, 1.1, 0, 0.1, 1), g(0.4, 5, 1, 1, 1, 1)] };
  // type I : 0.2 (0.1^6) + 0.2 (0.1^6 + 0.2^2) + 0.2 (0.1^3 + 0.1^6) = 0.0082006
  // type II: A exponent r/2 = 3 in the c* = 0 cell: 0.2 (0.1^6) + 0.2 (0.1^6 + 0.2^3) + 0.2 (0.1^3 + 0.1^6) = 0.0018006
  assert.ok(Math.abs(presetLoss('typeI', fitted, truth) - 0.0082006) < 1e-12);
  assert.ok(Math.abs(presetLoss('typeII', fitted, truth) - 0.0018006) < 1e-12);
  // Away from c* = 0 the two agree.
  const shifted = { atoms: truth.atoms.map((a) => ({ ...a, params: { ...a.params, c: (a.params.c as Float64Array).map((v) => v + 0.5) } })) };
  const fShift = { atoms: fitted.atoms.map((a) => ({ ...a, params: { ...a.params, c: (a.params.c as Float64Array).map((v) => v + 0.5) } })) };
  assert.ok(Math.abs(presetLoss('typeII', fShift, shifted) - presetLoss('typeI', fShift, shifted)) < 1e-15);
});

test('Ho-Nguyen exponents: r(2) = 4, r(3) = 6, continued as 2m', () => {
  assert.deepEqual([1, 2, 3, 4, 5].map(hoNguyenR), [1, 4, 6, 8, 10]);
  const custom = gaussianTypeI({ rOf: (m) => (m === 2 ? 8 : 2 * m) });
  const truth = { atoms: [g(1, 0, 1, 0, 0, 1)] };
  const fitted = { atoms: [g(0.5, 0.5, 1, 0, 0, 1), g(0.5, 0, 1, 0, 0, 1)] };
  assert.ok(Math.abs(voronoiLoss(fitted, truth, custom) - 0.5 * 0.5 ** 8) < 1e-15);
});

test('an empty cell contributes its true weight (weighted) or 1 (unweighted)', () => {
  const truth = { atoms: [g(0.7, 0, 1, 0, 0, 1), g(0.3, 5, 1, 0, 0, 1)] };
  const fitted = { atoms: [g(0.5, 0, 1, 0, 0, 1), g(0.5, 0, 1, 0, 0, 1)] };
  const b = voronoiBreakdown(fitted, truth, gaussianTypeI());
  assert.deepEqual(b.cells[1]?.members, []);
  assert.ok(Math.abs(b.total - (0.3 + 0.3)) < 1e-15); // |1.0 - 0.7| + |0 - 0.3|
  const un = { atoms: truth.atoms.map((a) => ({ params: a.params })) };
  const unFit = { atoms: fitted.atoms.map((a) => ({ params: a.params })) };
  assert.equal(voronoiLoss(unFit, un), 1);
  assert.equal(voronoiLoss(un, un), 0);
});

test('bad input to losses names the field', () => {
  const truth = { atoms: [g(1, 0, 1, 0, 0, 1)] };
  const is = (f: string) => (e: unknown) => e instanceof InputError && e.field === f;
  assert.throws(() => voronoiLoss({ atoms: [atom(1, { c: [0, 1], Gamma: [1], A: [0], b: [0], nu: [1] })] }, truth, gaussianTypeI()), is('fitted.atoms[0].params.c'));
  assert.throws(() => voronoiLoss({ atoms: [atom(1, { c: [Number.NaN], Gamma: [1], A: [0], b: [0], nu: [1] })] }, truth), is('fitted.atoms[0].params.c[0]'));
  assert.throws(() => voronoiLoss({ atoms: [] }, truth), is('fitted.atoms'));
  assert.throws(() => voronoiLoss(truth, truth, softmaxD1(['beta'])), is('truth.atoms[0].params.beta'));
});
