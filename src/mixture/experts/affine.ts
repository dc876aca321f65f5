/**
 * Affine expert:  e(x; A, a) = A x + a,  A in R^{q x d} (row-major), a in R^q.
 *   d e_r / d A_sk = delta_rs x_k,   d e_r / d a_s = delta_rs,   d e / d x = A.
 */
import type { ExpertFamily } from './expert.js';

export function affineExpert(inputDim: number, outputDim = 1): ExpertFamily {
  const d = inputDim;
  const q = outputDim;
  const P = q * d + q;
  return {
    kind: 'affine',
    inputDim: d,
    outputDim: q,
    blocks: [
      { name: 'A', size: q * d },
      { name: 'a', size: q },
    ],
    nParams: P,
    value(p, off, x, out, ooff) {
      for (let r = 0; r < q; r++) {
        let s = p[off + q * d + r] as number;
        for (let k = 0; k < d; k++) s += (p[off + r * d + k] as number) * (x[k] as number);
        out[ooff + r] = s;
      }
    },
    jacobian(p, off, x, out, ooff, jac, stride, joff) {
      for (let r = 0; r < q; r++) {
        let s = p[off + q * d + r] as number;
        for (let k = 0; k < d; k++) s += (p[off + r * d + k] as number) * (x[k] as number);
        out[ooff + r] = s;
        const row = r * stride + joff;
        for (let k = 0; k < P; k++) jac[row + k] = 0;
        for (let k = 0; k < d; k++) jac[row + r * d + k] = x[k] as number;
        jac[row + q * d + r] = 1;
      }
    },
    jacobianInput(p, off, _x, jac) {
      for (let i = 0; i < q * d; i++) jac[i] = p[off + i] as number;
    },
  };
}
