import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { moeView } from '../../src/attention/head.js';
import { multiHeadMoeView } from '../../src/attention/multihead.js';
import { promptExperts, promptedAttention, promptedView } from '../../src/prompts/head-prompt.js';
import { type Mat, fromRows } from '../../src/linalg/mat.js';
import { makeRng } from '../../src/util/rng.js';
import { PROMPT_KINDS, headArb, promptedHeadArb, tokensArb, dimsArb } from '../../src/arbitraries/index.js';
import { gauss, maxAbs } from './helpers.js';

const runs = { numRuns: 150, seed: 20261122 };

test('a hand-checked head: two tokens, d = dk = dv = 1', () => {
  // X = [1; 2], W = 1: scores s_ij = x_i x_j, gates softmax, output sum g_ij x_j.
  const one = fromRows([[1]]);
  const v = moeView({ WQ: one, WK: one, WV: one }, fromRows([[1], [2]]));
  assert.deepEqual(Array.from(v.scores.data), [1, 2, 2, 4]);
  const g01 = Math.exp(2) / (Math.exp(1) + Math.exp(2));
  assert.ok(Math.abs((v.gates.data[1] as number) - g01) < 1e-15);
  assert.ok(Math.abs((v.output.data[0] as number) - ((1 - g01) * 1 + g01 * 2)) < 1e-15);
});

for (const kind of ['none', ...PROMPT_KINDS] as const) {
  test(`reconstruction equals direct attention to 1e-9 relative (${kind})`, () => {
    fc.assert(
      fc.property(promptedHeadArb(kind), ({ head, X, prompt }) => {
        const v = promptedView(head, X, prompt);
        const direct = promptedAttention(head, X, prompt);
        const scale = Math.max(maxAbs(v.expertOutputs.data), 1e-290);
        for (let t = 0; t < direct.data.length; t++) {
          assert.ok(Math.abs((v.output.data[t] as number) - (direct.data[t] as number)) <= 1e-9 * scale, `entry ${t}`);
        }
        assert.ok(v.maxAbsError <= 1e-9 * scale);
      }),
      runs,
    );
  });

  test(`gate rows are probability vectors (${kind})`, () => {
    fc.assert(
      fc.property(promptedHeadArb(kind), ({ X, head, prompt }) => {
        const v = promptedView(head, X, prompt);
        const E = v.gates.cols;
        assert.equal(E, X.rows + v.prompts);
        for (let i = 0; i < v.gates.rows; i++) {
          let s = 0;
          for (let e = 0; e < E; e++) {
            const g = v.gates.data[i * E + e] as number;
            assert.ok(g >= 0 && g <= 1);
            s += g;
          }
          assert.ok(Math.abs(s - 1) < 1e-12);
        }
      }),
      runs,
    );
  });
}

function permuteRows(X: Mat, perm: number[]): Mat {
  const out = { rows: X.rows, cols: X.cols, data: new Float64Array(X.data.length) };
  perm.forEach((src, i) => out.data.set(X.data.subarray(src * X.cols, (src + 1) * X.cols), i * X.cols));
  return out;
}

// VAPT prompts read the patch grid, so permuting tokens changes them: the property is for the
// methods whose prompts do not depend on the token order.
for (const kind of ['none', 'vpt', 'kv', 'e2vpt'] as const) {
  test(`permuting tokens permutes the mixture (${kind})`, () => {
    const arb = promptedHeadArb(kind).chain((ph) => fc.shuffledSubarray([...Array(ph.X.rows).keys()], { minLength: ph.X.rows, maxLength: ph.X.rows }).map((perm) => ({ ...ph, perm })));
    fc.assert(
      fc.property(arb, ({ head, X, prompt, perm }) => {
        const N = X.rows;
        const a = promptedView(head, X, prompt);
        const b = promptedView(head, permuteRows(X, perm), prompt);
        const E = a.gates.cols;
        const Q = a.gates.rows;
        const mapRow = (i: number): number => (i < N ? (perm[i] as number) : i);
        for (let i = 0; i < Q; i++) {
          for (let e = 0; e < E; e++) {
            const ga = a.gates.data[mapRow(i) * E + mapRow(e)] as number;
            const gb = b.gates.data[i * E + e] as number;
            assert.ok(Math.abs(ga - gb) <= 1e-12, `gate ${i},${e}`);
            assert.equal(b.scores.data[i * E + e], a.scores.data[mapRow(i) * E + mapRow(e)]);
          }
        }
        const dv = a.expertOutputs.cols;
        for (let e = 0; e < E; e++) for (let c = 0; c < dv; c++) assert.equal(b.expertOutputs.data[e * dv + c], a.expertOutputs.data[mapRow(e) * dv + c]);
        const scale = Math.max(maxAbs(a.expertOutputs.data), 1e-290);
        for (let i = 0; i < Q; i++) for (let c = 0; c < dv; c++) assert.ok(Math.abs((b.output.data[i * dv + c] as number) - (a.output.data[mapRow(i) * dv + c] as number)) <= 1e-12 * scale);
      }),
      runs,
    );
  });
}

test('multi-head: per-head views, concat times W_O equals direct multi-head attention', () => {
  const arb = fc
    .record({ H: fc.integer({ min: 1, max: 4 }), dims: dimsArb(), dout: fc.integer({ min: 1, max: 5 }) })
    .chain(({ H, dims, dout }) =>
      fc.record({
        heads: fc.array(headArb(dims), { minLength: H, maxLength: H }),
        X: tokensArb(dims.N, dims.d),
        WO: tokensArb(H * dims.dv, dout),
        P: tokensArb(2, dims.d),
        shallow: fc.boolean(),
      }),
    );
  fc.assert(
    fc.property(arb, ({ heads, X, WO, P, shallow }) => {
      const prompts = heads.map((h) => promptExperts(h, X, { kind: 'vpt', P, mode: shallow ? 'shallow' : 'deep' }));
      const mh = multiHeadMoeView({ heads, WO }, X, prompts);
      assert.equal(mh.views.length, heads.length);
      const scale = Math.max(maxAbs(mh.attention.data), 1e-290) + maxAbs(WO.data) * Math.max(...mh.views.map((v) => maxAbs(v.expertOutputs.data)));
      assert.ok(mh.maxAbsError <= 1e-9 * scale, `${mh.maxAbsError}`);
      assert.equal(mh.output.rows, X.rows + (shallow ? 2 : 0));
    }),
    { numRuns: 100, seed: 7 },
  );
});

test('reconstruction holds on a larger head with large scores (softmax stability)', () => {
  const rng = makeRng(3);
  const X = gauss(rng, 50, 32, 3);
  const head = { WQ: gauss(rng, 32, 16), WK: gauss(rng, 32, 16), WV: gauss(rng, 32, 8) };
  const v = promptedView(head, X, { kind: 'vpt', P: gauss(rng, 10, 32), mode: 'shallow' });
  assert.ok(v.maxAbsError <= 1e-9 * maxAbs(v.expertOutputs.data));
  assert.equal(v.gates.rows, 60);
});
