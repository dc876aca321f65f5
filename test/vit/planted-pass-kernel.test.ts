/**
 * The WebAssembly pass of the planted layer (src/vit/planted-pass.wat) against the JavaScript pass
 * it replaces for VPT-deep and key-value prompts: value, gradient and outputs equal to the bit
 * (Object.is) on random layers of any width, head count, image count and prompt count, and the
 * same targets-change rule (a second objective on other targets is not served stale ones).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makeRng } from '../../src/util/rng.js';
import { plantedLayer, type LayerWeights, type PlantedForm } from '../../src/vit/planted-layer.js';
import { plantedPassStatus } from '../../src/vit/planted-pass-kernel.js';

function layers(form: PlantedForm, dh: number, H: number, n: number, L: number, seed: number) {
  const rng = makeRng(seed);
  const d = dh * H;
  const T = 5;
  const g = (len: number, sd: number): Float64Array => Float64Array.from({ length: len }, () => sd * rng.normal());
  const weights: LayerWeights = { d, heads: H, WQ: g(d * d, 1), WK: g(d * d, 1), WV: g(d * d, 1), bQ: g(d, 0.3), bK: g(d, 0.3), bV: g(d, 0.3) };
  const tokens = { n, T, d, X: g(n * T * d, 1), grid: [2, 2] as [number, number] };
  const make = (wasm: boolean) => {
    const before = process.env['PROMPT_EXPERTS_NO_WASM'];
    if (wasm) delete process.env['PROMPT_EXPERTS_NO_WASM'];
    else process.env['PROMPT_EXPERTS_NO_WASM'] = '1';
    try {
      return plantedLayer(tokens, weights, { form, atoms: L });
    } finally {
      if (before === undefined) delete process.env['PROMPT_EXPERTS_NO_WASM'];
      else process.env['PROMPT_EXPERTS_NO_WASM'] = before;
    }
  };
  const js = make(false);
  return { js, wasm: make(true), theta: g(js.nParams, 1), Y: g(n * T * d, 1), Y2: g(n * T * d, 1) };
}

const same = (a: Float64Array, b: Float64Array): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

test('the WebAssembly pass is built and loads', () => {
  const s = plantedPassStatus();
  assert.ok(s.available, `planted-pass.wasm unavailable: ${s.reason}`);
});

test('WebAssembly and JavaScript passes agree to the bit: value, gradient, outputs (fast-check)', () => {
  fc.assert(
    fc.property(
      fc.record({ form: fc.constantFrom<PlantedForm>('vpt-deep', 'kv'), dh: fc.integer({ min: 1, max: 5 }), H: fc.integer({ min: 1, max: 3 }), n: fc.integer({ min: 1, max: 4 }), L: fc.integer({ min: 1, max: 4 }), seed: fc.integer({ min: 1, max: 1e6 }) }),
      ({ form, dh, H, n, L, seed }) => {
        const { js, wasm, theta, Y, Y2 } = layers(form, dh, H, n, L, seed);
        const gj = new Float64Array(js.nParams);
        const gw = new Float64Array(js.nParams);
        for (const y of [Y, Y2, Y]) {
          // Alternating targets: the kernel must copy them in again, not reuse the last ones.
          assert.ok(Object.is(js.objective(y).valueAndGradient(theta, gj), wasm.objective(y).valueAndGradient(theta, gw)), 'value');
          assert.ok(same(gj, gw), 'gradient');
          assert.ok(Object.is(js.meanSquaredResidual(theta, y), wasm.meanSquaredResidual(theta, y)), 'mean squared residual');
        }
        const oj = new Float64Array(n * js.outputDim);
        const ow = new Float64Array(n * js.outputDim);
        js.predict(theta, oj);
        wasm.predict(theta, ow);
        assert.ok(same(oj, ow), 'outputs');
        assert.ok(same(js.gateMeans(theta), wasm.gateMeans(theta)), 'gate shares');
      },
    ),
    { seed: 7, numRuns: 60 },
  );
});
