import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { numericalDegrees } from '../../src/attention/kinds.js';
import { promptedKinds, promptedView, type HeadPrompt } from '../../src/prompts/head-prompt.js';
import type { Head } from '../../src/attention/types.js';
import { type Mat, fromRows } from '../../src/linalg/mat.js';
import { makeRng, type Rng } from '../../src/util/rng.js';
import { gauss } from './helpers.js';

function setup(rng: Rng, N: number, d: number, dk: number, dv: number): { head: Head; X: Mat } {
  return { head: { WQ: gauss(rng, d, dk), WK: gauss(rng, d, dk), WV: gauss(rng, d, dv) }, X: gauss(rng, N, d) };
}

function vaptPrompt(rng: Rng, d: number, grid: [number, number], opts: { residual: boolean; ln: boolean }): HeadPrompt {
  const K = 2;
  const hw = (grid[0] - K + 1) * (grid[1] - K + 1);
  const L = 3;
  const r = 4;
  return {
    kind: 'vapt',
    grid,
    kernel: gauss(rng, K, K),
    padding: 0,
    alpha: gauss(rng, L, hw),
    bias: gauss(rng, 1, L).data,
    W1: gauss(rng, r, d),
    W2: gauss(rng, d, r),
    residual: opts.residual,
    layerNorm: opts.ln ? { gamma: gauss(rng, 1, d).data, beta: gauss(rng, 1, d).data } : null,
  };
}

test('numerical degrees of known functions', () => {
  const X = fromRows([[1, 2], [3, -1]]);
  const degs = numericalDegrees(
    (Y) => [
      Float64Array.of(5),
      Float64Array.of(2 * (Y.data[0] as number) - (Y.data[3] as number)),
      Float64Array.of((Y.data[0] as number) * (Y.data[1] as number) + 1),
      Float64Array.of(Math.tanh(Y.data[2] as number)),
      Float64Array.of((Y.data[0] as number) ** 3),
    ],
    X,
  );
  assert.deepEqual(degs, [0, 1, 2, 3, 3]);
});

test('kinds: token experts linear with quadratic scores; VPT and kv prompt experts constant with linear scores', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1e6 }), fc.constantFrom('deep' as const, 'shallow' as const), (seed, mode) => {
      const rng = makeRng(seed);
      const { head, X } = setup(rng, 5, 4, 3, 3);
      const vpt = promptedKinds(head, X, { kind: 'vpt', P: gauss(rng, 2, 4), mode });
      assert.deepEqual(vpt.expertKinds, ['linear', 'linear', 'linear', 'linear', 'linear', 'constant', 'constant']);
      assert.deepEqual(vpt.scoreKinds, ['quadratic', 'quadratic', 'quadratic', 'quadratic', 'quadratic', 'linear', 'linear']);
      const kv = promptedKinds(head, X, { kind: 'e2vpt', keys: gauss(rng, 2, 3), values: gauss(rng, 2, 3) });
      assert.deepEqual(kv.expertKinds.slice(5), ['constant', 'constant']);
      assert.deepEqual(kv.scoreKinds.slice(5), ['linear', 'linear']);
    }),
    { numRuns: 20, seed: 11 },
  );
});

test('kinds: VAPT prompt experts and their scores are nonlinear (with or without LayerNorm / residual)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1e6 }), fc.boolean(), fc.boolean(), (seed, residual, ln) => {
      const rng = makeRng(seed);
      const { head, X } = setup(rng, 6, 5, 3, 2);
      const k = promptedKinds(head, X, vaptPrompt(rng, 5, [2, 3], { residual, ln }));
      assert.deepEqual(k.expertKinds.slice(6), ['nonlinear', 'nonlinear', 'nonlinear']);
      assert.deepEqual(k.scoreKinds.slice(6), ['nonlinear', 'nonlinear', 'nonlinear']);
      assert.deepEqual(k.expertKinds.slice(0, 6), Array(6).fill('linear'));
    }),
    { numRuns: 20, seed: 12 },
  );
});

test('derivative in X: zero for VPT prompt experts, non-zero for VAPT prompt experts', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1e6 }), fc.boolean(), (seed, ln) => {
      const rng = makeRng(seed);
      const { head, X } = setup(rng, 4, 4, 2, 3);
      const U = gauss(rng, 4, 4);
      const h = 1e-6;
      const Xh = { rows: 4, cols: 4, data: X.data.map((v, k) => v + h * (U.data[k] as number)) };
      const prompts: HeadPrompt[] = [{ kind: 'vpt', P: gauss(rng, 2, 4), mode: 'deep' }, vaptPrompt(rng, 4, [2, 2], { residual: true, ln })];
      const [vptP, vaptP] = prompts as [HeadPrompt, HeadPrompt];
      const a = promptedView(head, X, vptP).expertOutputs;
      const b = promptedView(head, Xh, vptP).expertOutputs;
      for (let t = 4 * 3; t < a.data.length; t++) assert.equal(b.data[t], a.data[t]);
      const c = promptedView(head, X, vaptP).expertOutputs;
      const e = promptedView(head, Xh, vaptP).expertOutputs;
      for (let j = 0; j < 3; j++) {
        let dd = 0;
        for (let col = 0; col < 3; col++) dd = Math.max(dd, Math.abs((e.data[(4 + j) * 3 + col] as number) - (c.data[(4 + j) * 3 + col] as number)) / h);
        assert.ok(dd > 1e-6, `VAPT prompt ${j} has derivative ${dd}`);
      }
    }),
    { numRuns: 30, seed: 13 },
  );
});
