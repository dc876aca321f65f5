import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hungarian, matchedErrors } from '../../src/loss/matching.js';
import type { MixingMeasure } from '../../src/mixture/measure.js';

function brute(cost: number[][]): number {
  const n = cost.length;
  const m = (cost[0] as number[]).length;
  let best = Infinity;
  const used = new Array<boolean>(m).fill(false);
  const rec = (i: number, acc: number): void => {
    if (i === n) { best = Math.min(best, acc); return; }
    for (let j = 0; j < m; j++) if (!used[j]) { used[j] = true; rec(i + 1, acc + ((cost[i] as number[])[j] as number)); used[j] = false; }
  };
  rec(0, 0);
  return best;
}

test('Hungarian assignment is optimal (against brute force, rectangular too)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 2 }), fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 35, maxLength: 35 }), (n, extra, vals) => {
    const m = n + extra;
    const cost = Array.from({ length: n }, (_, i) => Array.from({ length: m }, (_, j) => vals[i * m + j] as number));
    const a = hungarian(cost);
    assert.equal(new Set(a).size, n);
    const total = a.reduce((s, j, i) => s + ((cost[i] as number[])[j] as number), 0);
    assert.ok(Math.abs(total - brute(cost)) < 1e-9);
  }), { numRuns: 200 });
});

test('matched errors: a permuted truth matches with zero error; extra fitted atoms are listed', () => {
  const mk = (w: number, c: number, a: number) => ({ weight: w, params: { c: Float64Array.of(c), a: Float64Array.of(a) } });
  const truth: MixingMeasure = { atoms: [mk(0.5, 0, 1), mk(0.5, 3, -1)] };
  const fitted: MixingMeasure = { atoms: [mk(0.1, 10, 10), mk(0.5, 3.1, -1), mk(0.4, 0, 1.2)] };
  const m = matchedErrors(fitted, truth);
  assert.deepEqual(m.pairs, [{ fitted: 2, truth: 0 }, { fitted: 1, truth: 1 }]);
  assert.deepEqual(m.unmatchedFitted, [0]);
  assert.ok(Math.abs((m.perParam.a?.errors[0] as number) - 0.2) < 1e-12);
  assert.ok(Math.abs((m.perParam.c?.max as number) - 0.1) < 1e-12);
  assert.ok(Math.abs((m.weightErrors?.[0] as number) - 0.1) < 1e-12);
  const z = matchedErrors({ atoms: [truth.atoms[1]!, truth.atoms[0]!] }, truth);
  assert.equal(z.cost, 0);
  const under = matchedErrors({ atoms: [mk(1, 2.9, -1)] }, truth);
  assert.deepEqual(under.unmatchedTruth, [0]);
});
