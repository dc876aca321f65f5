/**
 * Documents of the moe-view JSON contract (input of `prompt-experts moe-view`), of every
 * prompt kind the contract has ("vpt", "kv", "vapt", or null).
 */
import fc from 'fast-check';
import { toRows } from '../linalg/mat.js';
import type { MoeViewInputJson } from '../prompts/contract.js';
import type { DimsOptions } from './dims.js';
import { promptedHeadArb } from './prompted-head.js';

export type ContractKind = 'vpt' | 'kv' | 'vapt' | 'none';

export function moeViewInputArb(kind: ContractKind | 'any' = 'any', opts: DimsOptions = {}): fc.Arbitrary<MoeViewInputJson> {
  const kindArb: fc.Arbitrary<ContractKind> = kind === 'any' ? fc.constantFrom('none', 'vpt', 'kv', 'vapt') : fc.constant(kind);
  return kindArb.chain((k) =>
    promptedHeadArb(k, opts).map(({ head, X, prompt }): MoeViewInputJson => {
      const base = { X: toRows(X), WQ: toRows(head.WQ), WK: toRows(head.WK), WV: toRows(head.WV) };
      if (prompt === null) return { ...base, prompt: null };
      switch (prompt.kind) {
        case 'vpt':
          return { ...base, prompt: { kind: 'vpt', P: toRows(prompt.P), mode: prompt.mode } };
        case 'e2vpt':
          return { ...base, prompt: { kind: 'kv', K: toRows(prompt.keys ?? { rows: 0, cols: 0, data: new Float64Array() }), V: toRows(prompt.values ?? prompt.keys ?? { rows: 0, cols: 0, data: new Float64Array() }) } };
        case 'vapt':
          return {
            ...base,
            prompt: {
              kind: 'vapt',
              grid: [prompt.grid[0], prompt.grid[1]],
              kernel: toRows(prompt.kernel),
              padding: prompt.padding,
              alpha: toRows(prompt.alpha),
              bias: Array.from(prompt.bias),
              W1: toRows(prompt.W1),
              W2: toRows(prompt.W2),
              residual: prompt.residual,
              layerNorm: prompt.layerNorm === null ? null : { gamma: Array.from(prompt.layerNorm.gamma), beta: Array.from(prompt.layerNorm.beta) },
            },
          };
      }
    }),
  );
}
