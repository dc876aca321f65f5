/**
 * One-hidden-layer network expert (strongly identifiable for ReLU / GELU / tanh, docs/theory.md §4, softmax-moe):
 *   z = W x + c,  u = sigma(z)                     W in R^{h x d}, c in R^h
 *   e(x) = V u + v0      (outputLayer, default)    V in R^{q x h}, v0 in R^q (outputBias)
 *   e(x) = u             (no output layer; h = q, e.g. the papers' sigma(a^T x + b) with h = q = 1)
 * Jacobian (with output layer):
 *   d e_r / d W_kl = V_rk sigma'(z_k) x_l,  d e_r / d c_k = V_rk sigma'(z_k),
 *   d e_r / d V_sk = delta_rs u_k,          d e_r / d v0_s = delta_rs,
 *   d e_r / d x_l  = sum_k V_rk sigma'(z_k) W_kl.
 * Symmetries: hidden units can be permuted, and for ReLU (a V_.k, W_k./a, c_k/a) is the same
 * network for a > 0; use h = 1, or tanh / GELU, where parameter distances must mean something.
 */
import { InputError } from '../../util/errors.js';
import { activations, type ActivationName } from './activation.js';
import type { ExpertFamily } from './expert.js';
import type { ParamBlock } from '../gates/score.js';

export interface MlpExpertOptions {
  readonly activation: ActivationName;
  /** Hidden units h (default 1). */
  readonly hidden?: number;
  /** Linear output layer V u (+ v0); default true. Without it, hidden must equal outputDim. */
  readonly outputLayer?: boolean;
  /** Output bias v0 (only with an output layer); default true. */
  readonly outputBias?: boolean;
}

export function mlpExpert(inputDim: number, outputDim: number, options: MlpExpertOptions): ExpertFamily {
  const d = inputDim;
  const q = outputDim;
  const h = options.hidden ?? 1;
  const act = activations[options.activation];
  if (act === undefined) throw new InputError('expert.activation', "'relu', 'tanh' or 'gelu'", String(options.activation));
  if (!Number.isInteger(h) || h < 1) throw new InputError('expert.hidden', 'an integer >= 1', String(h));
  const outLayer = options.outputLayer ?? true;
  const outBias = outLayer && (options.outputBias ?? true);
  if (!outLayer && h !== q) throw new InputError('expert.hidden', `equal to outputDim (${q}) without an output layer`, String(h));
  const blocks: ParamBlock[] = [
    { name: 'W', size: h * d },
    { name: 'c', size: h },
  ];
  if (outLayer) blocks.push({ name: 'V', size: q * h });
  if (outBias) blocks.push({ name: 'v0', size: q });
  const oW = 0;
  const oc = h * d;
  const oV = oc + h;
  const ov0 = oV + (outLayer ? q * h : 0);
  const P = ov0 + (outBias ? q : 0);
  const u = new Float64Array(h);
  const du = new Float64Array(h);

  // tanh (the common case) gets its own loop: Math.tanh inlined and sigma' = 1 - u^2 from u.
  const hidden =
    act.name === 'tanh'
      ? (p: Float64Array, off: number, x: Float64Array, withDerivative: boolean): void => {
          for (let k = 0; k < h; k++) {
            let z = p[off + oc + k] as number;
            const w = off + oW + k * d;
            for (let l = 0; l < d; l++) z += (p[w + l] as number) * (x[l] as number);
            const t = Math.tanh(z);
            u[k] = t;
            if (withDerivative) du[k] = 1 - t * t;
          }
        }
      : (p: Float64Array, off: number, x: Float64Array, withDerivative: boolean): void => {
          for (let k = 0; k < h; k++) {
            let z = p[off + oc + k] as number;
            const w = off + oW + k * d;
            for (let l = 0; l < d; l++) z += (p[w + l] as number) * (x[l] as number);
            const fz = act.f(z);
            u[k] = fz;
            if (withDerivative) du[k] = act.df(z, fz);
          }
        };
  const output = (p: Float64Array, off: number, out: Float64Array, ooff: number): void => {
    if (!outLayer) {
      for (let r = 0; r < q; r++) out[ooff + r] = u[r] as number;
      return;
    }
    for (let r = 0; r < q; r++) {
      let s = outBias ? (p[off + ov0 + r] as number) : 0;
      for (let k = 0; k < h; k++) s += (p[off + oV + r * h + k] as number) * (u[k] as number);
      out[ooff + r] = s;
    }
  };

  return {
    kind: `mlp-${act.name}`,
    inputDim: d,
    outputDim: q,
    blocks,
    nParams: P,
    value(p, off, x, out, ooff) {
      hidden(p, off, x, false);
      output(p, off, out, ooff);
    },
    jacobian(p, off, x, out, ooff, jac, stride, joff) {
      hidden(p, off, x, true);
      output(p, off, out, ooff);
      for (let r = 0; r < q; r++) {
        const row = r * stride + joff;
        for (let k = 0; k < h; k++) {
          // d e_r / d z_k
          const dz = outLayer ? (p[off + oV + r * h + k] as number) * (du[k] as number) : r === k ? (du[k] as number) : 0;
          const w = row + oW + k * d;
          for (let l = 0; l < d; l++) jac[w + l] = dz * (x[l] as number);
          jac[row + oc + k] = dz;
        }
        if (outLayer) {
          for (let s = 0; s < q; s++) for (let k = 0; k < h; k++) jac[row + oV + s * h + k] = s === r ? (u[k] as number) : 0;
        }
        if (outBias) for (let s = 0; s < q; s++) jac[row + ov0 + s] = s === r ? 1 : 0;
      }
    },
    jacobianInput(p, off, x, jac) {
      hidden(p, off, x, true);
      for (let r = 0; r < q; r++) {
        for (let l = 0; l < d; l++) {
          let s = 0;
          for (let k = 0; k < h; k++) {
            const dz = outLayer ? (p[off + oV + r * h + k] as number) * (du[k] as number) : r === k ? (du[k] as number) : 0;
            s += dz * (p[off + oW + k * d + l] as number);
          }
          jac[r * d + l] = s;
        }
      }
    },
  };
}
