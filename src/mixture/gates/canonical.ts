/**
 * Canonical form of a softmax-gated measure with affine logits b_j + beta_j^T x. The gates are
 * unchanged by b_j -> b_j + t0 and beta_j -> beta_j + t1 (the same t0, t1 for every atom), so a
 * fitted and a true measure are compared in one representative:
 *
 *   sum_j exp(b_j) = 1   and   sum_j exp(b_j) beta_j = 0.
 *
 * (Weights do not depend on t1, so both conditions are met in closed form: divide the weights by
 * their sum, subtract the weighted mean of the slopes.) Other blocks are copied unchanged.
 */
import type { MixingMeasure } from '../measure.js';

export function canonicalSoftmax(g: MixingMeasure, slopeBlock = 'beta'): MixingMeasure {
  let total = 0;
  for (const a of g.atoms) total += a.weight ?? 1;
  const d = g.atoms[0]?.params[slopeBlock]?.length ?? 0;
  const mean = new Float64Array(d);
  for (const a of g.atoms) {
    const s = a.params[slopeBlock];
    const w = (a.weight ?? 1) / total;
    if (s !== undefined) for (let k = 0; k < d; k++) mean[k] = (mean[k] as number) + w * (s[k] as number);
  }
  return {
    atoms: g.atoms.map((a) => {
      const s = a.params[slopeBlock];
      const params = s === undefined ? { ...a.params } : { ...a.params, [slopeBlock]: Float64Array.from(s, (v, k) => v - (mean[k] as number)) };
      return { weight: (a.weight ?? 1) / total, params };
    }),
  };
}
