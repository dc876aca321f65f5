import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_E2VPT, DEFAULT_VAPT, DEFAULT_VPT, VIT_B16, paramCount, paramTable, withDefaults } from '../../src/prompts/config.js';
import { vitShapeArb, promptConfigArb } from '../../src/arbitraries/index.js';
import { InputError } from '../../src/util/errors.js';

test('ViT-B/16 parameter counts match the official code and the poster', () => {
  assert.equal(paramCount(VIT_B16, DEFAULT_VPT), 92_160);
  assert.equal(paramCount(VIT_B16, { ...DEFAULT_VPT, mode: 'shallow' }), 7_680);
  assert.equal(paramCount(VIT_B16, DEFAULT_E2VPT), 138_240);
  assert.equal(paramCount(VIT_B16, { ...DEFAULT_E2VPT, sharedKV: false }), 184_320);
  assert.equal(paramCount(VIT_B16, DEFAULT_VAPT), 55_608);
  assert.equal(paramCount(VIT_B16, DEFAULT_VAPT, 'poster'), 32_616);
  assert.equal(paramCount(VIT_B16, withDefaults({ kind: 'vapt' })), 55_608);
  // The itemisation in the brief: 10*768 + 11*(2*768 + 4 + 10*169 + 10) + 8*768*2.
  assert.equal(10 * 768 + 11 * (2 * 768 + 4 + 10 * 169 + 10) + 8 * 768 * 2, 55_608);
});

test('the total is the sum of the table; VAPT poster <= official when every component is on', () => {
  fc.assert(
    fc.property(vitShapeArb().chain((vit) => fc.tuple(fc.constant(vit), promptConfigArb(vit))), ([vit, c]) => {
      const rows = paramTable(vit, c);
      assert.equal(paramCount(vit, c), rows.reduce((s, r) => s + r.count, 0));
      for (const r of rows) assert.ok(Number.isInteger(r.count) && r.count >= 0);
      if (c.kind === 'vapt' && c.layerNorm && c.staticFirstLayer && c.projectorBias && vit.layers > 1) {
        // official replaces one adaptive layer (K^2 + L H'W') with L d static prompts and adds LN and bias.
        assert.ok(paramCount(vit, c) !== paramCount(vit, c, 'poster') || vit.width === 0);
      }
    }),
    { numRuns: 200, seed: 5 },
  );
});

test('a kernel larger than the padded grid is an InputError naming kernel', () => {
  assert.throws(() => paramCount({ layers: 2, width: 4, grid: [2, 2] }, { ...DEFAULT_VAPT, kernel: 3 }), (e: unknown) => e instanceof InputError && e.field === 'kernel');
});
