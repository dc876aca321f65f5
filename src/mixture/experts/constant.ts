/**
 * Constant expert:  e(x; eta) = eta,  eta in R^q  (the form of VPT and prefix prompt experts).
 *   d e_r / d eta_k = delta_rk,   d e / d x = 0.
 */
import type { ExpertFamily } from './expert.js';

export function constantExpert(inputDim: number, outputDim = 1): ExpertFamily {
  const q = outputDim;
  return {
    kind: 'constant',
    inputDim,
    outputDim: q,
    blocks: [{ name: 'eta', size: q }],
    nParams: q,
    value(p, off, _x, out, ooff) {
      for (let r = 0; r < q; r++) out[ooff + r] = p[off + r] as number;
    },
    jacobian(p, off, _x, out, ooff, jac, stride, joff) {
      for (let r = 0; r < q; r++) {
        out[ooff + r] = p[off + r] as number;
        const row = r * stride + joff;
        for (let k = 0; k < q; k++) jac[row + k] = r === k ? 1 : 0;
      }
    },
    jacobianInput(_p, _off, _x, jac) {
      jac.fill(0, 0, q * inputDim);
    },
  };
}
