import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Atom, MixingMeasure } from '../../src/mixture/measure.js';
import { atomReport } from '../../src/loss/atoms.js';
import { InputError } from '../../src/util/errors.js';

const atom = (weight: number | undefined, params: Record<string, number[]>): Atom => ({
  ...(weight === undefined ? {} : { weight }),
  params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Float64Array.from(v)])),
});

// Two true atoms far apart; three fitted: two in cell 0, one in cell 1.
const truth: MixingMeasure = { atoms: [atom(1, { k: [0, 0], v: [0] }), atom(2, { k: [10, 0], v: [5] })] };
const fitted: MixingMeasure = {
  atoms: [
    atom(0.6, { k: [3, 4], v: [0] }), //    cell 0: ||dk|| = 5, ||dv|| = 0 -> 5
    atom(0.5, { k: [0, 1], v: [-2] }), //   cell 0: 1 + 2 = 3
    atom(2.1, { k: [10, 0.5], v: [5.5] }), // cell 1: 0.5 + 0.5 = 1
  ],
};

test('atoms-*: hand-computed values on a small measure', () => {
  const r = atomReport(fitted, truth);
  assert.deepEqual(r.atoms.map((a) => a.cell), [0, 0, 1]);
  assert.deepEqual(r.atoms.map((a) => a.distance), [5, 3, 1]);
  assert.deepEqual(r.atoms[1]?.blocks, { k: 1, v: 2 });
  assert.equal(r.losses['atoms-single'], 1);
  assert.equal(r.losses['atoms-multi'], 5);
  assert.equal(r.losses['atoms-multi-min'], 3);
  assert.deepEqual(r.cells.map((c) => c.size), [2, 1]);
  assert.ok(Math.abs((r.cells[0]?.weightSum as number) - 1.1) < 1e-15);
  assert.equal(r.cells[1]?.trueWeight, 2);
  assert.equal(r.switchedOff, false);
  assert.equal(r.escaped, true); // atom 0 is 5 > 3 from every true atom
  assert.equal(atomReport(fitted, truth, { escapeDistance: 6 }).escaped, false);
});

test('atoms-*: an exact-specified fit has no multi-atom loss; a starved atom is switched off', () => {
  const exact = atomReport({ atoms: [fitted.atoms[1] as Atom, fitted.atoms[2] as Atom] }, truth);
  assert.equal(exact.losses['atoms-multi'], undefined);
  assert.equal(exact.losses['atoms-single'], 2);
  const starved = atomReport({ atoms: [atom(1, { k: [0, 0.1], v: [0] }), atom(0.005, { k: [1, 0], v: [0] }), fitted.atoms[2] as Atom] }, truth);
  assert.equal(starved.switchedOff, true);
  assert.equal(atomReport({ atoms: [atom(1, { k: [0, 0.1], v: [0] }), atom(0.005, { k: [1, 0], v: [0] }), fitted.atoms[2] as Atom] }, truth, { switchedOffShare: 0.001 }).switchedOff, false);
});

test('atoms-*: invariant to the order of fitted and of true atoms (property)', () => {
  const pt = fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 2, maxLength: 2 });
  fc.assert(
    fc.property(fc.array(pt, { minLength: 2, maxLength: 3 }), fc.array(fc.tuple(pt, fc.double({ min: 0.01, max: 2, noNaN: true })), { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { minLength: 5, maxLength: 5 }), (tr, fi, keys) => {
      const T: MixingMeasure = { atoms: tr.map((p, j) => atom(1 + j, { p: [p[0] as number, (p[1] as number) + 20 * j] })) };
      const F: MixingMeasure = { atoms: fi.map(([p, w]) => atom(w, { p })) };
      const perm = <X,>(xs: ReadonlyArray<X>): X[] => xs.map((x, i) => [x, keys[i % keys.length] as number, i] as const).sort((a, b) => a[1] - b[1] || a[2] - b[2]).map(([x]) => x);
      const a = atomReport(F, T);
      const b = atomReport({ atoms: perm(F.atoms) }, T);
      const c = atomReport(F, { atoms: [...T.atoms].reverse() });
      for (const name of ['atoms-single', 'atoms-multi', 'atoms-multi-min'] as const) {
        const x = a.losses[name];
        for (const y of [b.losses[name], c.losses[name]]) {
          if (x === undefined) assert.equal(y, undefined);
          else assert.ok(Math.abs(x - (y as number)) <= 1e-12 * (1 + x), `${name}: ${x} vs ${String(y)}`);
        }
      }
      assert.equal(a.switchedOff, b.switchedOff);
      assert.equal(a.escaped, c.escaped);
    }),
    { seed: 11, numRuns: 200 },
  );
});

test('atoms-*: zero at the truth, bad thresholds named', () => {
  const r = atomReport(truth, truth);
  assert.equal(r.losses['atoms-single'], 0);
  assert.throws(() => atomReport(fitted, truth, { switchedOffShare: 1.5 }), (e: unknown) => e instanceof InputError && e.field === 'health.switchedOff');
  assert.throws(() => atomReport(fitted, truth, { escapeDistance: 0 }), (e: unknown) => e instanceof InputError && e.field === 'health.escaped');
});
