/**
 * Quadratic score (the form attention's token scores take in X, docs/theory.md §1):
 *   s(x; beta, Q) = beta^T x + sum_{k <= l} Q_kl x_k x_l,
 * with Q stored as its upper triangle, row by row (d(d+1)/2 entries), so every parameter is
 * identifiable (only the symmetric part of a quadratic form enters s).
 *   d s / d beta_k = x_k,   d s / d Q_kl = x_k x_l,
 *   d s / d x_k   = beta_k + 2 Q_kk x_k + sum_{l != k} Q_{min(k,l) max(k,l)} x_l.
 */
import type { ScoreFamily } from './score.js';

export function quadraticScore(inputDim: number): ScoreFamily {
  const d = inputDim;
  const nq = (d * (d + 1)) / 2;
  // Index of Q_kl (k <= l) inside the Q block.
  const idx = (k: number, l: number): number => k * d - (k * (k - 1)) / 2 + (l - k);
  return {
    kind: 'quadratic',
    inputDim: d,
    blocks: [
      { name: 'beta', size: d },
      { name: 'Q', size: nq },
    ],
    nParams: d + nq,
    value(p, off, x) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (p[off + k] as number) * (x[k] as number);
      let q = off + d;
      for (let k = 0; k < d; k++) {
        const xk = x[k] as number;
        for (let l = k; l < d; l++) s += (p[q++] as number) * xk * (x[l] as number);
      }
      return s;
    },
    gradParams(p, off, x, g, goff) {
      let s = 0;
      for (let k = 0; k < d; k++) {
        const xk = x[k] as number;
        s += (p[off + k] as number) * xk;
        g[goff + k] = xk;
      }
      let q = d;
      for (let k = 0; k < d; k++) {
        const xk = x[k] as number;
        for (let l = k; l < d; l++, q++) {
          const m = xk * (x[l] as number);
          s += (p[off + q] as number) * m;
          g[goff + q] = m;
        }
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
      const q0 = off + d;
      for (let k = 0; k < d; k++) {
        const xk = x[k] as number;
        for (let l = k; l < d; l++) {
          const qkl = p[q0 + idx(k, l)] as number;
          const xl = x[l] as number;
          s += qkl * xk * xl;
          g[k] = (g[k] as number) + qkl * xl;
          g[l] = (g[l] as number) + qkl * xk;
        }
      }
      return s;
    },
  };
}
