/**
 * Head-level prompts of every kind for given dimensions: VPT (deep/shallow), key-value prompts,
 * E2VPT (visual + kv, shared or separate, with binary token and segment masks) and VAPT (any
 * grid with H*W = N, kernel, padding, LayerNorm or not, residual or not).
 */
import fc from 'fast-check';
import { convGrid } from '../prompts/config.js';
import type { VptHeadPrompt } from '../prompts/vpt.js';
import { type E2vptHeadPrompt, SEGMENTS } from '../prompts/e2vpt.js';
import type { VaptHeadPrompt } from '../prompts/vapt.js';
import type { HeadPrompt } from '../prompts/head-prompt.js';
import type { Dims } from './dims.js';
import { matrixArb, vectorArb } from './matrix.js';

export type PromptKind = 'vpt' | 'kv' | 'e2vpt' | 'vapt';
export const PROMPT_KINDS: readonly PromptKind[] = ['vpt', 'kv', 'e2vpt', 'vapt'];

export function vptPromptArb(dims: Dims, maxPrompts = 4): fc.Arbitrary<VptHeadPrompt> {
  return fc
    .record({ L: fc.integer({ min: 1, max: maxPrompts }), mode: fc.constantFrom('deep' as const, 'shallow' as const) })
    .chain(({ L, mode }) => matrixArb(L, dims.d).map((P) => ({ kind: 'vpt' as const, P, mode })));
}

/** Key-value (prefix) prompts with separate K and V: what moe-view's "kv" kind carries. */
export function kvPromptArb(dims: Dims, maxPrompts = 4): fc.Arbitrary<E2vptHeadPrompt> {
  return fc
    .integer({ min: 1, max: maxPrompts })
    .chain((L) => fc.record({ keys: matrixArb(L, dims.dk), values: matrixArb(L, dims.dv) }).map((p) => ({ kind: 'e2vpt' as const, ...p })));
}

const binary = (n: number): fc.Arbitrary<Float64Array> => fc.array(fc.constantFrom(0, 1), { minLength: n, maxLength: n }).map((a) => Float64Array.from(a));

export function e2vptPromptArb(dims: Dims, maxPrompts = 4): fc.Arbitrary<E2vptHeadPrompt> {
  return fc
    .record({
      Lv: fc.integer({ min: 0, max: maxPrompts }),
      Lkv: fc.integer({ min: 0, max: maxPrompts }),
      shared: fc.boolean(),
      masked: fc.boolean(),
    })
    .filter(({ Lv, Lkv }) => Lv + Lkv > 0)
    .chain(({ Lv, Lkv, shared, masked }) => {
      const sharedOk = shared && dims.dk === dims.dv;
      return fc
        .record({
          visual: matrixArb(Lv, dims.d),
          keys: matrixArb(Lkv, dims.dk),
          values: matrixArb(Lkv, dims.dv),
          visualToken: binary(Lv),
          visualSegment: binary(Lv * SEGMENTS),
          kvToken: binary(Lkv),
          kvSegment: binary(Lkv * SEGMENTS),
        })
        .map((r): E2vptHeadPrompt => ({
          kind: 'e2vpt',
          ...(Lv > 0 ? { visual: r.visual } : {}),
          ...(Lkv > 0 ? { keys: r.keys } : {}),
          ...(Lkv > 0 && !sharedOk ? { values: r.values } : {}),
          ...(masked
            ? {
                masks: {
                  visualToken: r.visualToken,
                  visualSegment: { rows: Lv, cols: SEGMENTS, data: r.visualSegment },
                  kvToken: r.kvToken,
                  kvSegment: { rows: Lkv, cols: SEGMENTS, data: r.kvSegment },
                },
              }
            : {}),
        }));
    });
}

/** All factorisations H x W of N. */
function grids(N: number): [number, number][] {
  const out: [number, number][] = [];
  for (let h = 1; h <= N; h++) if (N % h === 0) out.push([h, N / h]);
  return out;
}

export function vaptPromptArb(dims: Dims, maxPrompts = 4, maxRank = 4): fc.Arbitrary<VaptHeadPrompt> {
  return fc
    .record({
      grid: fc.constantFrom(...grids(dims.N)),
      padding: fc.integer({ min: 0, max: 1 }),
      L: fc.integer({ min: 1, max: maxPrompts }),
      r: fc.integer({ min: 1, max: maxRank }),
      residual: fc.boolean(),
      ln: fc.boolean(),
    })
    .chain(({ grid, padding, L, r, residual, ln }) =>
      fc.integer({ min: 1, max: Math.min(grid[0], grid[1]) + 2 * padding }).chain((K) => {
        const [h, w] = convGrid(grid, K, padding);
        return fc
          .record({
            kernel: matrixArb(K, K),
            alpha: matrixArb(L, h * w),
            bias: vectorArb(L),
            W1: matrixArb(r, dims.d),
            W2: matrixArb(dims.d, r),
            gamma: vectorArb(dims.d, 2),
            beta: vectorArb(dims.d),
          })
          .map(
            (p): VaptHeadPrompt => ({
              kind: 'vapt',
              grid,
              kernel: p.kernel,
              padding,
              alpha: p.alpha,
              bias: p.bias,
              W1: p.W1,
              W2: p.W2,
              residual,
              layerNorm: ln ? { gamma: p.gamma, beta: p.beta } : null,
            }),
          );
      }),
    );
}

export function headPromptArb(kind: PromptKind, dims: Dims): fc.Arbitrary<HeadPrompt> {
  switch (kind) {
    case 'vpt':
      return vptPromptArb(dims);
    case 'kv':
      return kvPromptArb(dims);
    case 'e2vpt':
      return e2vptPromptArb(dims);
    case 'vapt':
      return vaptPromptArb(dims);
  }
}
