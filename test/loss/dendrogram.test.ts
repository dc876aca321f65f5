import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Atom, MixingMeasure } from '../../src/mixture/measure.js';
import { dendrogram, dissimilarity, mergeAtoms, mergeToAtoms, SOFTMAX_GAUSSIAN_DISSIMILARITY } from '../../src/loss/dendrogram.js';
import { InputError } from '../../src/util/errors.js';

const atom = (weight: number, beta: number, a: number, b: number, nu: number): Atom => ({
  weight,
  params: { beta: Float64Array.of(beta), a: Float64Array.of(a), b: Float64Array.of(b), nu: Float64Array.of(nu) },
});
const G = SOFTMAX_GAUSSIAN_DISSIMILARITY;

test('dendrogram: hand-computed dissimilarities, merge order and merged atoms', () => {
  // d(i, j) = w_i w_j / (w_i + w_j) (|db|^2 + sqrt(da^2 + dnu^2))
  const x = atom(1, 0, 0, 0, 0.1);
  const y = atom(1, 5, 3, 1, 0.1); //  1/2 (1 + 3) = 2
  const z = atom(2, 0, 0, 10, 0.1); // with x: 2/3 (100) = 66.67; with y: 2/3 (81 + 3) = 56
  assert.equal(dissimilarity(x, y, G), 2);
  assert.ok(Math.abs(dissimilarity(x, z, G) - 200 / 3) < 1e-12);
  assert.ok(Math.abs(dissimilarity(y, z, G) - 56) < 1e-12);
  const tree = dendrogram({ atoms: [x, y, z] }, G);
  assert.deepEqual(tree.steps.map((s) => s.pair), [[0, 1], [0, 1]]);
  assert.equal(tree.steps[0]?.height, 2);
  const m = tree.levels[1]?.atoms[0] as Atom;
  assert.equal(m.weight, 2);
  assert.deepEqual([m.params.beta?.[0], m.params.a?.[0], m.params.b?.[0], m.params.nu?.[0]], [2.5, 1.5, 0.5, 0.1]);
  assert.equal(tree.levels.length, 3);
  assert.equal(tree.levels[2]?.atoms.length, 1);
  // gate slopes are merged but do not enter d
  assert.equal(dissimilarity(x, atom(1, 100, 0, 0, 0.1), G), 0);
});

test('dendrogram: merging an atom with its own copy gives it back with the summed weight', () => {
  const x = atom(0.3, 1, -2, 0.5, 0.2);
  const m = mergeAtoms(x, atom(0.5, 1, -2, 0.5, 0.2));
  assert.ok(Math.abs((m.weight as number) - 0.8) < 1e-15);
  for (const k of ['beta', 'a', 'b', 'nu']) assert.ok(Math.abs((m.params[k]?.[0] as number) - (x.params[k]?.[0] as number)) < 1e-15, k);
  assert.equal(mergeToAtoms({ atoms: [x] }, 2, G).atoms.length, 1);
  // an atom whose weight underflowed to 0 merges first and moves nothing
  const y = atom(0.7, -1, 4, 2, 0.1);
  const [m2] = mergeToAtoms({ atoms: [y, x, atom(0, 9, 9, 9, 9)] }, 2, G).atoms;
  assert.deepEqual(m2, mergeAtoms(y, atom(0, 9, 9, 9, 9)));
  assert.deepEqual(Array.from(m2?.params.b ?? []), [2]);
});

const atomArb = fc.record({
  w: fc.double({ min: 0.01, max: 1, noNaN: true }),
  beta: fc.double({ min: -3, max: 3, noNaN: true }),
  a: fc.double({ min: -3, max: 3, noNaN: true }),
  b: fc.double({ min: -3, max: 3, noNaN: true }),
  nu: fc.double({ min: 0.01, max: 1, noNaN: true }),
});

test('dendrogram (property): total weight and the weighted mean of every block are kept at every level; the k-atom level does not depend on atom order or the weights\' scale', () => {
  fc.assert(
    fc.property(fc.array(atomArb, { minLength: 2, maxLength: 5 }), fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0.1, max: 10, noNaN: true }), (raw, shift, scale) => {
      const g: MixingMeasure = { atoms: raw.map((r) => atom(r.w, r.beta, r.a, r.b, r.nu)) };
      const tree = dendrogram(g, G);
      const moments = (m: MixingMeasure): number[] => {
        const w = m.atoms.reduce((s, a) => s + (a.weight as number), 0);
        return [w, ...['beta', 'a', 'b', 'nu'].map((k) => m.atoms.reduce((s, a) => s + (a.weight as number) * (a.params[k]?.[0] as number), 0))];
      };
      const m0 = moments(g);
      for (const lv of tree.levels) moments(lv).forEach((v, i) => assert.ok(Math.abs(v - (m0[i] as number)) < 1e-9 * (1 + Math.abs(m0[i] as number)), `moment ${i}`));
      const key = (m: MixingMeasure, c = 1): string => m.atoms.map((a) => `${((a.weight as number) / c).toFixed(6)}|${a.params.b?.[0]?.toFixed(6)}|${a.params.a?.[0]?.toFixed(6)}`).sort().join(';');
      const k = 1 + (shift % g.atoms.length);
      const rot = shift % g.atoms.length;
      const rotated: MixingMeasure = { atoms: [...g.atoms.slice(rot), ...g.atoms.slice(0, rot)] };
      const scaled: MixingMeasure = { atoms: g.atoms.map((a) => ({ ...a, weight: (a.weight as number) * scale })) };
      assert.equal(key(mergeToAtoms(rotated, k, G)), key(mergeToAtoms(g, k, G)));
      assert.equal(key(mergeToAtoms(scaled, k, G), scale), key(mergeToAtoms(g, k, G)));
    }),
    { seed: 2510, numRuns: 200 },
  );
});

test('dendrogram: bad input names the field', () => {
  const is = (f: string) => (e: unknown) => e instanceof InputError && e.field === f;
  assert.throws(() => dendrogram({ atoms: [] }, G), is('measure.atoms'));
  assert.throws(() => dendrogram({ atoms: [atom(1, 0, 0, 0, 1), { params: { a: Float64Array.of(0), b: Float64Array.of(0), nu: Float64Array.of(1) } }] }, G), is('measure.atoms[1].weight'));
  assert.throws(() => dendrogram({ atoms: [atom(1, 0, 0, 0, 1), atom(-1, 0, 0, 0, 1)] }, G), is('measure.atoms[1].weight'));
  assert.throws(() => dendrogram({ atoms: [atom(1, 0, 0, 0, 1), atom(1, 0, 0, 0, 1)] }, [{ blocks: ['c'], exponent: 1 }]), is('measure.atoms[0].params.c'));
  assert.throws(() => dendrogram({ atoms: [atom(1, 0, 0, 0, 1), atom(1, 0, 0, 0, 1)] }, [{ blocks: ['b'], exponent: 0 }]), is('groups[0].exponent'));
  assert.throws(() => mergeToAtoms({ atoms: [atom(1, 0, 0, 0, 1)] }, 0, G), is('k'));
});
