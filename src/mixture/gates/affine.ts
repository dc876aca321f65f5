/**
 * Affine score (the standard softmax gate):  s(x; beta) = beta^T x,  beta in R^d.
 * With the atom's bias the gate logit is b + beta^T x.
 *   d s / d beta = x,   d s / d x = beta.
 */
import type { ScoreFamily } from './score.js';

export function affineScore(inputDim: number): ScoreFamily {
  const d = inputDim;
  return {
    kind: 'affine',
    inputDim: d,
    blocks: [{ name: 'beta', size: d }],
    nParams: d,
    value(p, off, x) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (p[off + k] as number) * (x[k] as number);
      return s;
    },
    gradParams(p, off, x, g, goff) {
      let s = 0;
      for (let k = 0; k < d; k++) {
        const xk = x[k] as number;
        s += (p[off + k] as number) * xk;
        g[goff + k] = xk;
      }
      return s;
    },
    gradInput(p, off, x, g) {
      let s = 0;
      for (let k = 0; k < d; k++) {
        const bk = p[off + k] as number;
        s += bk * (x[k] as number);
        g[k] = bk;
      }
      return s;
    },
  };
}
