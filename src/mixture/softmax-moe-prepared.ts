/**
 * Prepared form of the softmax-gated MoE (`softmaxMoe`) for least squares: affine gates
 * (logit b_j + beta_j^T x) with constant, affine or one-hidden-layer (mlp) experts; other score
 * or expert families (custom, quadratic) have no prepared form and keep the per-sample path.
 *
 * Theta-free work, once per fit: the inputs transposed, X^T (d x n), so that every Jacobian
 * column is written by a contiguous loop over the block's samples. Per block (samples t < T):
 *   1. forward, sample by sample: logits, softmax g_j, expert outputs e_j (and the hidden
 *      layer's u_k = sigma(z_k), dz_rk = d e_r / d z_k), f = sum_j g_j e_j, into block scratch;
 *   2. columns, one at a time, straight into the J^T block:
 *      d f_r / d b_j      = c_jr = g_j (e_jr - f_r),    d f_r / d beta_jl = c_jr x_l,
 *      d f_r / d W_kl     = g_j (dz_rk x_l),            d f_r / d c_k     = g_j dz_rk,
 *      d f_r / d V_sk     = g_j u_k delta_rs,           d f_r / d v0_s    = g_j delta_rs,
 *      d f_r / d A_sl     = g_j x_l delta_rs,           d f_r / d a_s     = g_j delta_rs,
 *      d f_r / d eta_s    = g_j delta_rs (constant expert).
 * Every value is computed with the same operations in the same order as the family's `predict`
 * and `jacobian`, so the prepared path is bitwise equal to the plain one (and LM fits take the
 * same iterates exactly).
 */
import { InputError } from '../util/errors.js';
import { activations } from './experts/activation.js';
import type { PreparedFamily, Samples } from './family.js';
import type { ExpertSpec, GateSpec } from './softmax-moe.js';

/** What the prepared form needs of a softmaxMoe family (its layout and specs). */
export interface SoftmaxMoeLayout {
  readonly atoms: number;
  readonly inputDim: number;
  readonly outputDim: number;
  readonly nParams: number;
  readonly gate: GateSpec;
  readonly expert: ExpertSpec;
  /** Offset of b_j in theta, -1 for an anchored atom (logit 0). */
  readonly gateOffsets: Int32Array;
  /** Offset of atom j's expert parameters in theta. */
  readonly expertOffsets: Int32Array;
}

/** Expert shapes with a prepared form; null for the others. */
type ExpertShape =
  | { readonly kind: 'constant' }
  | { readonly kind: 'affine' }
  | { readonly kind: 'mlp'; readonly h: number; readonly outLayer: boolean; readonly outBias: boolean; readonly tanh: boolean; readonly f: (z: number) => number; readonly df: (z: number, fz: number) => number };

function expertShape(spec: ExpertSpec, q: number): ExpertShape | null {
  if (spec.kind === 'constant' || spec.kind === 'affine') return { kind: spec.kind };
  if (spec.kind !== 'mlp') return null;
  const act = activations[spec.activation];
  const h = spec.hidden ?? 1;
  const outLayer = spec.outputLayer ?? true;
  if (act === undefined || !Number.isInteger(h) || h < 1 || (!outLayer && h !== q)) return null;
  return { kind: 'mlp', h, outLayer, outBias: outLayer && (spec.outputBias ?? true), tanh: act.name === 'tanh', f: act.f, df: act.df };
}

/** Whether `prepareSoftmaxMoe` has a prepared form for these specs. */
export function hasPreparedSoftmaxMoe(gate: GateSpec, expert: ExpertSpec, q: number): boolean {
  return gate.kind === 'affine' && expertShape(expert, q) !== null;
}

export function prepareSoftmaxMoe(lay: SoftmaxMoeLayout, samples: Samples): PreparedFamily {
  const L = lay.atoms;
  const d = lay.inputDim;
  const q = lay.outputDim;
  const P = lay.nParams;
  const shape = expertShape(lay.expert, q);
  if (lay.gate.kind !== 'affine' || shape === null) throw new InputError('family', 'affine gates with constant, affine or mlp experts', `${lay.gate.kind} / ${lay.expert.kind}`);
  if (samples.inputDim !== d) throw new InputError('samples.inputDim', `${d}`, String(samples.inputDim));
  const n = samples.n;
  const X = samples.X;
  const gOff = lay.gateOffsets;
  const eOff = lay.expertOffsets;
  // X^T: row l holds x_l of every sample.
  const XT = new Float64Array(d * n);
  for (let i = 0; i < n; i++) for (let l = 0; l < d; l++) XT[l * n + i] = X[i * d + l] as number;

  const mlp = shape.kind === 'mlp' ? shape : null;
  const h = mlp?.h ?? 0;
  const oc = h * d; // mlp blocks: W (h x d), c (h), V (q x h), v0 (q)
  const oV = oc + h;
  const ov0 = oV + (mlp?.outLayer === true ? q * h : 0);

  const theta = new Float64Array(P);
  // Per sample: logits / gates, expert outputs, hidden layer (u, sigma').
  const gl = new Float64Array(L);
  const E = new Float64Array(L * q);
  const u = new Float64Array(Math.max(1, L * h));
  const du = new Float64Array(Math.max(1, L * h));
  // Per block (capacity T samples): G[j T + t] = g_j, C[(j q + r) T + t] = g_j (e_jr - f_r),
  // U[(j h + k) T + t] = u_k, DZ[((j q + r) h + k) T + t] = d e_jr / d z_jk.
  let cap = 0;
  let G = new Float64Array(0);
  let C = new Float64Array(0);
  let U = new Float64Array(0);
  let DZ = new Float64Array(0);
  const ensure = (T: number): void => {
    if (T <= cap) return;
    cap = T;
    G = new Float64Array(L * T);
    C = new Float64Array(L * q * T);
    U = new Float64Array(Math.max(1, L * h * T));
    DZ = new Float64Array(Math.max(1, L * q * h * T));
  };

  /** Sample i: gl = softmax gates, E = expert outputs, out[oo + r] = f_r; with derivative also u, du. */
  const forward = (i: number, out: Float64Array, oo: number, withDerivative: boolean): void => {
    const xi = i * d;
    for (let j = 0; j < L; j++) {
      const go = gOff[j] as number;
      if (go < 0) gl[j] = 0;
      else {
        let s = 0;
        for (let k = 0; k < d; k++) s += (theta[go + 1 + k] as number) * (X[xi + k] as number);
        gl[j] = (theta[go] as number) + s;
      }
      const eo = eOff[j] as number;
      const jq = j * q;
      if (mlp === null) {
        if (shape.kind === 'constant') for (let r = 0; r < q; r++) E[jq + r] = theta[eo + r] as number;
        else
          for (let r = 0; r < q; r++) {
            let s = theta[eo + q * d + r] as number;
            for (let k = 0; k < d; k++) s += (theta[eo + r * d + k] as number) * (X[xi + k] as number);
            E[jq + r] = s;
          }
      } else {
        const jh = j * h;
        for (let k = 0; k < h; k++) {
          let z = theta[eo + oc + k] as number;
          const w = eo + k * d;
          for (let l = 0; l < d; l++) z += (theta[w + l] as number) * (X[xi + l] as number);
          if (mlp.tanh) {
            const t = Math.tanh(z);
            u[jh + k] = t;
            if (withDerivative) du[jh + k] = 1 - t * t;
          } else {
            const fz = mlp.f(z);
            u[jh + k] = fz;
            if (withDerivative) du[jh + k] = mlp.df(z, fz);
          }
        }
        if (!mlp.outLayer) for (let r = 0; r < q; r++) E[jq + r] = u[jh + r] as number;
        else
          for (let r = 0; r < q; r++) {
            let s = mlp.outBias ? (theta[eo + ov0 + r] as number) : 0;
            for (let k = 0; k < h; k++) s += (theta[eo + oV + r * h + k] as number) * (u[jh + k] as number);
            E[jq + r] = s;
          }
      }
    }
    // Softmax (max-shifted), as softmaxInPlace.
    let mx = -Infinity;
    for (let j = 0; j < L; j++) mx = Math.max(mx, gl[j] as number);
    let zs = 0;
    for (let j = 0; j < L; j++) {
      const e = Math.exp((gl[j] as number) - mx);
      gl[j] = e;
      zs += e;
    }
    const inv = 1 / zs;
    for (let j = 0; j < L; j++) gl[j] = (gl[j] as number) * inv;
    for (let r = 0; r < q; r++) {
      let s = 0;
      for (let j = 0; j < L; j++) s += (gl[j] as number) * (E[j * q + r] as number);
      out[oo + r] = s;
    }
  };

  return {
    bind(t: Float64Array): void {
      if (t.length !== P) throw new InputError('theta', `length ${P}`, `length ${t.length}`);
      theta.set(t);
    },
    predictRows(i0, count, out) {
      for (let t = 0; t < count; t++) forward(i0 + t, out, t * q, false);
    },
    jacobianRows(i0, count, out, jt, stride) {
      const T = count;
      ensure(T);
      // 1. forward, per-sample coefficients into the block scratch.
      for (let t = 0; t < T; t++) {
        forward(i0 + t, out, t * q, true);
        for (let j = 0; j < L; j++) {
          const gj = gl[j] as number;
          G[j * T + t] = gj;
          for (let r = 0; r < q; r++) C[(j * q + r) * T + t] = gj * ((E[j * q + r] as number) - (out[t * q + r] as number));
          if (mlp !== null) {
            const eo = eOff[j] as number;
            for (let k = 0; k < h; k++) U[(j * h + k) * T + t] = u[j * h + k] as number;
            for (let r = 0; r < q; r++)
              for (let k = 0; k < h; k++) {
                const duk = du[j * h + k] as number;
                DZ[((j * q + r) * h + k) * T + t] = mlp.outLayer ? (theta[eo + oV + r * h + k] as number) * duk : r === k ? duk : 0;
              }
          }
        }
      }
      // 2. columns of J^T, each a contiguous run over the block's samples (rows t q + r).
      for (let j = 0; j < L; j++) {
        const go = gOff[j] as number;
        const eo = eOff[j] as number;
        const gT = j * T;
        if (go >= 0) {
          for (let r = 0; r < q; r++) {
            const cT = (j * q + r) * T;
            const cb = go * stride + r;
            for (let t = 0; t < T; t++) jt[cb + t * q] = C[cT + t] as number;
            for (let l = 0; l < d; l++) {
              const a = (go + 1 + l) * stride + r;
              const xo = l * n + i0;
              for (let t = 0; t < T; t++) jt[a + t * q] = (C[cT + t] as number) * (XT[xo + t] as number);
            }
          }
        }
        if (mlp === null) {
          // constant: columns eo + s; affine: A (q x d) then a (q).
          const oa = shape.kind === 'constant' ? eo : eo + q * d;
          for (let s = 0; s < q; s++) {
            if (shape.kind === 'affine') {
              for (let l = 0; l < d; l++) {
                const a = (eo + s * d + l) * stride;
                const xo = l * n + i0;
                for (let t = 0; t < T; t++)
                  for (let r = 0; r < q; r++) jt[a + t * q + r] = r === s ? (G[gT + t] as number) * (XT[xo + t] as number) : 0;
              }
            }
            const a = (oa + s) * stride;
            for (let t = 0; t < T; t++) for (let r = 0; r < q; r++) jt[a + t * q + r] = r === s ? (G[gT + t] as number) : 0;
          }
          continue;
        }
        for (let r = 0; r < q; r++) {
          for (let k = 0; k < h; k++) {
            const zT = ((j * q + r) * h + k) * T;
            for (let l = 0; l < d; l++) {
              const a = (eo + k * d + l) * stride + r;
              const xo = l * n + i0;
              for (let t = 0; t < T; t++) jt[a + t * q] = (G[gT + t] as number) * ((DZ[zT + t] as number) * (XT[xo + t] as number));
            }
            const a = (eo + oc + k) * stride + r;
            for (let t = 0; t < T; t++) jt[a + t * q] = (G[gT + t] as number) * (DZ[zT + t] as number);
          }
        }
        if (mlp.outLayer) {
          for (let s = 0; s < q; s++)
            for (let k = 0; k < h; k++) {
              const a = (eo + oV + s * h + k) * stride;
              const uT = (j * h + k) * T;
              for (let t = 0; t < T; t++) for (let r = 0; r < q; r++) jt[a + t * q + r] = r === s ? (G[gT + t] as number) * (U[uT + t] as number) : 0;
            }
        }
        if (mlp.outBias) {
          for (let s = 0; s < q; s++) {
            const a = (eo + ov0 + s) * stride;
            for (let t = 0; t < T; t++) for (let r = 0; r < q; r++) jt[a + t * q + r] = r === s ? (G[gT + t] as number) : 0;
          }
        }
      }
    },
    flopsPerJacobian: L * (2 * d + 2 * q * (mlp === null ? (shape.kind === 'affine' ? d + 1 : 1) : h * (d + 2) + h + 1) + 2 * h * d + 20) + 2 * q * L,
  };
}
