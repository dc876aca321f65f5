/**
 * Softmax gate over L atoms with a shared score family:
 *   g_j(x) = exp(b_j + s(x; theta_j)) / sum_l exp(b_l + s(x; theta_l)),
 * parameters laid out atom by atom as [b_j, theta_j] (stride 1 + score.nParams). The atom's
 * weight in the mixing measure is exp(b_j).
 *   d g_j / d b_l       = g_j (delta_jl - g_l)
 *   d g_j / d theta_l   = g_j (delta_jl - g_l) d s_l / d theta_l
 *   d g_j / d x         = g_j (d s_j / d x - sum_l g_l d s_l / d x)
 */
import type { ScoreFamily } from './score.js';

export interface SoftmaxGate {
  readonly score: ScoreFamily;
  readonly atoms: number;
  readonly inputDim: number;
  /** atoms * (1 + score.nParams). */
  readonly nParams: number;
  /** out[j] = g_j(x). */
  probabilities(p: Float64Array, x: Float64Array, out: Float64Array): void;
  /** out = g(x); jac (atoms x nParams, row-major) = d g / d p. */
  jacobianParams(p: Float64Array, x: Float64Array, out: Float64Array, jac: Float64Array): void;
  /** out = g(x); jac (atoms x inputDim, row-major) = d g / d x. */
  jacobianInput(p: Float64Array, x: Float64Array, out: Float64Array, jac: Float64Array): void;
}

/** Softmax of `logits[0..n)` in place (max-shifted). */
export function softmaxInPlace(logits: Float64Array, n: number): void {
  let mx = -Infinity;
  for (let j = 0; j < n; j++) mx = Math.max(mx, logits[j] as number);
  let z = 0;
  for (let j = 0; j < n; j++) {
    const e = Math.exp((logits[j] as number) - mx);
    logits[j] = e;
    z += e;
  }
  const inv = 1 / z;
  for (let j = 0; j < n; j++) logits[j] = (logits[j] as number) * inv;
}

export function softmaxGate(score: ScoreFamily, atoms: number): SoftmaxGate {
  const L = atoms;
  const ps = score.nParams;
  const stride = 1 + ps;
  const d = score.inputDim;
  const P = L * stride;
  const ds = new Float64Array(L * Math.max(ps, d));
  const probabilities = (p: Float64Array, x: Float64Array, out: Float64Array): void => {
    for (let j = 0; j < L; j++) out[j] = (p[j * stride] as number) + score.value(p, j * stride + 1, x);
    softmaxInPlace(out, L);
  };
  return {
    score,
    atoms: L,
    inputDim: d,
    nParams: P,
    probabilities,
    jacobianParams(p, x, out, jac) {
      for (let j = 0; j < L; j++) out[j] = (p[j * stride] as number) + score.gradParams(p, j * stride + 1, x, ds, j * ps);
      softmaxInPlace(out, L);
      for (let j = 0; j < L; j++) {
        const gj = out[j] as number;
        for (let l = 0; l < L; l++) {
          const c = gj * ((j === l ? 1 : 0) - (out[l] as number));
          const base = j * P + l * stride;
          jac[base] = c;
          for (let k = 0; k < ps; k++) jac[base + 1 + k] = c * (ds[l * ps + k] as number);
        }
      }
    },
    jacobianInput(p, x, out, jac) {
      for (let j = 0; j < L; j++) out[j] = (p[j * stride] as number) + score.gradInput(p, j * stride + 1, x, ds.subarray(j * d, (j + 1) * d));
      softmaxInPlace(out, L);
      for (let k = 0; k < d; k++) {
        let mean = 0;
        for (let l = 0; l < L; l++) mean += (out[l] as number) * (ds[l * d + k] as number);
        for (let j = 0; j < L; j++) jac[j * d + k] = (out[j] as number) * ((ds[j * d + k] as number) - mean);
      }
    },
  };
}
