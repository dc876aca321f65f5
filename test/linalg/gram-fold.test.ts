import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FOLD_ENV, foldGramJs, resolveFold, WasmGramFold, wasmFoldStatus } from '../../src/linalg/gram-fold.js';
import { InputError } from '../../src/util/errors.js';
import { makeRng } from '../../src/util/rng.js';

test('the WebAssembly fold is built (npm run build assembles gram-fold.wat)', () => {
  const s = wasmFoldStatus();
  assert.ok(s.available, s.reason);
});

// Each entry is a dot product of length m, so both folds' rounding errors are bounded by about
// m eps ||x|| ||y||; relative to that scale (sqrt(A_aa A_bb), sqrt(A_aa r.r)), they agree to 1e-12.
test('wasm fold equals the JS fold on random blocks (random P, B, m, column subsets, several blocks)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 45 }),
      fc.integer({ min: 1, max: 70 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 0, max: 1e6 }),
      (P, B, blocks, seed) => {
        const rng = makeRng(seed);
        // a random non-empty ascending subset of the columns (the dense ones)
        let cols = Int32Array.from({ length: P }, (_, k) => k).filter(() => rng.uniform() < 0.7);
        if (cols.length === 0) cols = Int32Array.of(Math.floor(rng.uniform() * P));
        const w = new WasmGramFold(P, B, cols);
        const A = new Float64Array(P * P);
        const g = new Float64Array(P);
        w.reset();
        let rr = 0;
        for (let blk = 0; blk < blocks; blk++) {
          const m = 1 + Math.floor(rng.uniform() * B);
          // every entry random (also those past m and off the column list: the folds must ignore them)
          for (let i = 0; i < P * B; i++) w.JT[i] = rng.normal() * (1 + 10 * rng.uniform());
          for (let i = 0; i < B; i++) w.r[i] = rng.normal();
          for (let k = 0; k < m; k++) rr += (w.r[k] as number) ** 2;
          foldGramJs(w.JT, w.r, B, m, cols, P, A, g);
          w.fold(m);
        }
        const Aw = new Float64Array(P * P).fill(NaN);
        const gw = new Float64Array(P).fill(NaN);
        w.scatter(Aw, gw);
        for (const ca of cols) {
          for (const cb of cols) {
            if (cb < ca) continue;
            const scale = Math.sqrt((A[ca * P + ca] as number) * (A[cb * P + cb] as number));
            const d = Math.abs((Aw[ca * P + cb] as number) - (A[ca * P + cb] as number));
            assert.ok(d <= 1e-12 * scale, `P=${P} B=${B} A[${ca}][${cb}]: ${Aw[ca * P + cb]} vs ${A[ca * P + cb]}`);
          }
          const d = Math.abs((gw[ca] as number) - (g[ca] as number));
          assert.ok(d <= 1e-12 * Math.sqrt((A[ca * P + ca] as number) * rr), `P=${P} B=${B} g[${ca}]: ${gw[ca]} vs ${g[ca]}`);
        }
        // scatter writes the dense upper triangle and g of the dense columns, nothing else
        for (let a = 0; a < P; a++) {
          for (let b = 0; b < P; b++) {
            const dense = cols.includes(a) && cols.includes(b) && a <= b;
            assert.equal(Number.isNaN(Aw[a * P + b] as number), !dense, `P=${P} A[${a}][${b}] written: ${!Number.isNaN(Aw[a * P + b] as number)}`);
          }
          assert.equal(Number.isNaN(gw[a] as number), !cols.includes(a));
        }
        // scatter clears the accumulator: a fold of nothing scatters zeros
        w.fold(0);
        w.scatter(Aw, gw);
        for (const c of cols) assert.equal(gw[c], 0);
      },
    ),
    { numRuns: 150, seed: 12 },
  );
});

test('the fold is chosen by the option, else by PROMPT_EXPERTS_FOLD, else wasm; a bad value is an InputError', () => {
  const saved = process.env[FOLD_ENV];
  try {
    delete process.env[FOLD_ENV];
    assert.equal(resolveFold(), 'wasm');
    assert.equal(resolveFold('js'), 'js');
    process.env[FOLD_ENV] = 'js';
    assert.equal(resolveFold(), 'js');
    assert.equal(resolveFold('wasm'), 'wasm');
    process.env[FOLD_ENV] = 'simd';
    assert.throws(() => resolveFold(), (e: unknown) => e instanceof InputError && e.field === FOLD_ENV);
  } finally {
    if (saved === undefined) delete process.env[FOLD_ENV];
    else process.env[FOLD_ENV] = saved;
  }
});
