import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SEGMENTS, applyMasks, e2vptExperts } from '../../src/prompts/e2vpt.js';
import { conv, featureMlp, layerNorm, projector, vaptPrompts } from '../../src/prompts/vapt.js';
import { fromRows } from '../../src/linalg/mat.js';
import { matrixArb, e2vptPromptArb, dimsArb, headArb, tokensArb } from '../../src/arbitraries/index.js';

test('masks zero exactly the masked entries and leave the others unchanged', () => {
  const arb = fc
    .record({ L: fc.integer({ min: 1, max: 5 }), m: fc.integer({ min: 1, max: 40 }) })
    .chain(({ L, m }) =>
      fc.record({
        P: matrixArb(L, m),
        token: fc.array(fc.constantFrom(0, 1), { minLength: L, maxLength: L }),
        seg: fc.array(fc.constantFrom(0, 1), { minLength: L * SEGMENTS, maxLength: L * SEGMENTS }),
      }),
    );
  fc.assert(
    fc.property(arb, ({ P, token, seg }) => {
      const out = applyMasks(P, token, { rows: P.rows, cols: SEGMENTS, data: Float64Array.from(seg) });
      for (let j = 0; j < P.rows; j++) {
        for (let c = 0; c < P.cols; c++) {
          const kept = token[j] === 1 && seg[j * SEGMENTS + (c % SEGMENTS)] === 1;
          const v = out.data[j * P.cols + c] as number;
          if (kept) assert.equal(v, P.data[j * P.cols + c]);
          else assert.equal(Math.abs(v), 0);
        }
      }
    }),
    { numRuns: 200, seed: 9 },
  );
});

test('segment s covers dims s, s+16, s+32, ...', () => {
  const P = { rows: 1, cols: 40, data: new Float64Array(40).fill(1) };
  const seg = new Float64Array(SEGMENTS).fill(1);
  seg[3] = 0;
  const out = applyMasks(P, undefined, { rows: 1, cols: SEGMENTS, data: seg });
  const zeroed = [...out.data.keys()].filter((k) => out.data[k] === 0);
  assert.deepEqual(zeroed, [3, 19, 35]);
});

test('E2VPT: masked-out key-value prompts give zero experts and zero keys', () => {
  fc.assert(
    fc.property(
      dimsArb().chain((dims) => fc.record({ head: headArb(dims), X: tokensArb(dims.N, dims.d), p: e2vptPromptArb(dims) })),
      ({ head, X, p }) => {
        const ex = e2vptExperts(head, X, p);
        const Lv = p.visual?.rows ?? 0;
        const tok = p.masks?.kvToken;
        if (tok === undefined) return;
        for (let j = 0; j < tok.length; j++) {
          if (tok[j] !== 0) continue;
          for (const v of ex.values.data.subarray((Lv + j) * ex.values.cols, (Lv + j + 1) * ex.values.cols)) assert.equal(Math.abs(v), 0);
          for (const v of ex.keys.data.subarray((Lv + j) * ex.keys.cols, (Lv + j + 1) * ex.keys.cols)) assert.equal(Math.abs(v), 0);
        }
      },
    ),
    { numRuns: 150, seed: 10 },
  );
});

test('VAPT blocks: hand-checked convolution, projector, MLP and LayerNorm', () => {
  // 2x3 grid, d = 2, tokens x_(a,b) = [a*3+b, 10*(a*3+b)]; kernel [[1,2],[3,4]], no padding -> 1x2.
  const X = fromRows([0, 1, 2, 3, 4, 5].map((t) => [t, 10 * t]));
  const k = fromRows([[1, 2], [3, 4]]);
  const C = conv(X, [2, 3], k, 0);
  // out(0,0) = 1*0 + 2*1 + 3*3 + 4*4 = 27; out(0,1) = 1*1 + 2*2 + 3*4 + 4*5 = 37.
  assert.deepEqual(Array.from(C.data), [27, 270, 37, 370]);
  // Padding 1: 3x4 output; corner (0,0) sees only x_(0,0) under kernel[1][1] = 4.
  const Cp = conv(X, [2, 3], k, 1);
  assert.equal(Cp.rows, 12);
  assert.equal(Cp.data[0], 4 * 0);
  assert.equal(Cp.data[2], 3 * 0 + 4 * 1);
  const G = projector(C, fromRows([[1, -1]]), [0.5]);
  assert.deepEqual(Array.from(G.data), [-9.5, -99.5]);
  const W1 = fromRows([[1, 0], [-1, 0]]);
  const W2 = fromRows([[1, 2], [3, 4]]);
  // relu(W1 g) = [0, 9.5]; W2 [0, 9.5] = [19, 38]; residual adds g.
  assert.deepEqual(Array.from(featureMlp(G, W1, W2, false).data), [19, 38]);
  assert.deepEqual(Array.from(featureMlp(G, W1, W2, true).data), [9.5, -61.5]);
  const ln = layerNorm(fromRows([[1, 3]]));
  assert.ok(Math.abs((ln.data[0] as number) + 1 / Math.sqrt(1 + 1e-6)) < 1e-15);
  const P = vaptPrompts(X, { kind: 'vapt', grid: [2, 3], kernel: k, padding: 0, alpha: fromRows([[1, -1]]), bias: Float64Array.of(0.5), W1, W2, residual: true, layerNorm: null });
  assert.deepEqual(Array.from(P.data), [9.5, -61.5]);
});
