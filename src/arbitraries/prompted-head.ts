/**
 * A head, its tokens and (optionally) a prompt of a given kind, all shapes consistent: the
 * typed inputs of `promptedView` / `moeView`.
 */
import fc from 'fast-check';
import type { Mat } from '../linalg/mat.js';
import type { Head } from '../attention/types.js';
import type { HeadPrompt } from '../prompts/head-prompt.js';
import { type Dims, type DimsOptions, dimsArb } from './dims.js';
import { headArb } from './head.js';
import { tokensArb } from './tokens.js';
import { type PromptKind, headPromptArb } from './prompt.js';

export interface PromptedHead {
  readonly dims: Dims;
  readonly head: Head;
  readonly X: Mat;
  readonly prompt: HeadPrompt | null;
}

export function promptedHeadArb(kind: PromptKind | 'none' | 'any' = 'any', opts: DimsOptions = {}): fc.Arbitrary<PromptedHead> {
  const kindArb: fc.Arbitrary<PromptKind | 'none'> = kind === 'any' ? fc.constantFrom('none', 'vpt', 'kv', 'e2vpt', 'vapt') : fc.constant(kind);
  return fc.tuple(dimsArb(opts), kindArb).chain(([dims, k]) =>
    fc
      .record({
        head: headArb(dims),
        X: tokensArb(dims.N, dims.d),
        prompt: k === 'none' ? fc.constant(null) : headPromptArb(k, dims),
      })
      .map((r) => ({ dims, ...r })),
  );
}
