/** ViT shapes and ViT-level prompt configs (src/prompts/config.ts) of every method. */
import fc from 'fast-check';
import type { E2vptConfig, PromptConfig, VaptConfig, VitShape, VptConfig } from '../prompts/config.js';

export function vitShapeArb(): fc.Arbitrary<VitShape> {
  return fc.record({
    layers: fc.integer({ min: 1, max: 24 }),
    width: fc.integer({ min: 1, max: 1024 }),
    grid: fc.tuple(fc.integer({ min: 1, max: 32 }), fc.integer({ min: 1, max: 32 })),
  });
}

export function vptConfigArb(): fc.Arbitrary<VptConfig> {
  return fc.record({ kind: fc.constant('vpt' as const), prompts: fc.integer({ min: 0, max: 200 }), mode: fc.constantFrom('deep' as const, 'shallow' as const) });
}

export function e2vptConfigArb(): fc.Arbitrary<E2vptConfig> {
  return fc.record({ kind: fc.constant('e2vpt' as const), visualPrompts: fc.integer({ min: 0, max: 200 }), kvPrompts: fc.integer({ min: 0, max: 200 }), sharedKV: fc.boolean() });
}

/** VAPT configs valid for `vit` (kernel no larger than the padded grid). */
export function vaptConfigArb(vit: VitShape): fc.Arbitrary<VaptConfig> {
  return fc.integer({ min: 0, max: 2 }).chain((padding) =>
    fc.record({
      kind: fc.constant('vapt' as const),
      prompts: fc.integer({ min: 1, max: 100 }),
      kernel: fc.integer({ min: 1, max: Math.min(vit.grid[0], vit.grid[1]) + 2 * padding }),
      padding: fc.constant(padding),
      rank: fc.integer({ min: 1, max: 64 }),
      residual: fc.boolean(),
      layerNorm: fc.boolean(),
      staticFirstLayer: fc.boolean(),
      projectorBias: fc.boolean(),
    }),
  );
}

export function promptConfigArb(vit: VitShape): fc.Arbitrary<PromptConfig> {
  return fc.oneof(vptConfigArb(), e2vptConfigArb(), vaptConfigArb(vit));
}
