import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Atom, MixingMeasure } from '../../src/mixture/measure.js';
import { nmoeCodeLoss } from '../../src/loss/nmoe-code.js';
import { InputError } from '../../src/util/errors.js';

const atom = (weight: number, beta: number, a: number, b: number, nu: number): Atom => ({
  weight,
  params: { beta: Float64Array.of(beta), a: Float64Array.of(a), b: Float64Array.of(b), nu: Float64Array.of(nu) },
});
const truth: MixingMeasure = { atoms: [atom(0.25, 0, 0, 0, 1), atom(0.75, 10, 10, 10, 1)] };

test('published-code losses: hand-computed on a measure with a two-atom cell and a singleton', () => {
  const fitted: MixingMeasure = {
    atoms: [
      atom(0.1, 0, 1, 0, 1), //  cell 0: (dbeta, db) = 0, (da, dnu) = 1
      atom(0.2, 1, 0, 1, 2), //  cell 0: |(dbeta, db)|^2 = 2, |(da, dnu)| = 1
      atom(0.7, 10, 13, 10, 5), // cell 1 (singleton): |(0, 3, 0, 4)| = 5
    ],
  };
  // D2: m = 2: 0.1 (0^2 + 1^2) + 0.2 (2^2 + 1^2) = 0.1 + 1 = 1.1; singleton 0.7 * 5 = 3.5; weights |0.3 - 0.25| + |0.7 - 0.75| = 0.1
  assert.ok(Math.abs(nmoeCodeLoss('D2', fitted, truth) - 4.7) < 1e-12);
  // D1: 0.1 * 1 + 0.2 * sqrt(1 + 1 + 1 + 0) ... (dbeta, da, db, dnu) = (1, 0, 1, 1): sqrt 3
  assert.ok(Math.abs(nmoeCodeLoss('D1', fitted, truth) - (0.1 + 0.2 * Math.sqrt(3) + 3.5 + 0.1)) < 1e-12);
  // exact fit at the truth: 0
  assert.equal(nmoeCodeLoss('D2', truth, truth), 0);
  assert.throws(() => nmoeCodeLoss('D3' as 'D2', fitted, truth), (e: unknown) => e instanceof InputError && e.field === 'loss');
  assert.throws(() => nmoeCodeLoss('D1', { atoms: [{ params: truth.atoms[0]?.params ?? {} }] }, truth), (e: unknown) => e instanceof InputError && e.field === 'fitted.atoms[0].weight');
});
