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
 * For one output (q = 1) both passes run unrolled kernels generated from the layout
 * (softmax-moe-unrolled.ts), which compute the same values in the same order; the loops below
 * serve q > 1 (and `unroll: false`).
 * Values are computed in the order of the family's `predict` and `jacobian` (sums accumulate
 * term by term in the same order), except that tanh is `tanhExpm1` (a few ulp from Math.tanh)
 * and d f / d W_kl is (g_j dz_rk) x_l rather than g_j (dz_rk x_l): the prepared path agrees with
 * the plain one to rounding (tested to 1e-10 relative, with LM taking the same iterates).
 */
import { InputError } from '../util/errors.js';
import { activations } from './experts/activation.js';
import type { PreparedFamily, Samples } from './family.js';
import type { ExpertSpec, GateSpec } from './softmax-moe.js';
import { unrolledKernel, type UnrolledExpert } from './softmax-moe-unrolled.js';

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

/**
 * tanh(z) = expm1(2 z) / (expm1(2 z) + 2), within a few ulp of Math.tanh (which is about three
 * times dearer in V8); 1 for z > 20, where Math.tanh also rounds to 1.
 */
export function tanhExpm1(z: number): number {
  if (z > 20) return 1;
  const e = Math.expm1(2 * z);
  return e / (e + 2);
}

/** The prepared family, saying whether it runs the unrolled kernels. */
export interface PreparedSoftmaxMoe extends PreparedFamily {
  readonly unrolled: boolean;
}

export interface PrepareSoftmaxMoeOptions {
  /** Use the unrolled kernels (softmax-moe-unrolled.ts) where they apply, q = 1 (default true). */
  readonly unroll?: boolean;
}

const tanhDerivative = (_z: number, t: number): number => 1 - t * t;

export function prepareSoftmaxMoe(lay: SoftmaxMoeLayout, samples: Samples, options: PrepareSoftmaxMoeOptions = {}): PreparedSoftmaxMoe {
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
  // Block scratch, structure of arrays (capacity T samples; index [row] * T + t):
  //   G[j] logits, then g_j;  Eb[j q + r] = e_jr;  F[r] = f_r;  MX, ZS softmax max and sum;
  //   U[j h + k] = u_k (z_k before the activation);  DU[j h + k] = sigma'(z_k);
  //   C[j q + r] = g_j (e_jr - f_r);  DZ[(j q + r) h + k] = g_j d e_jr / d z_jk.
  // Fixed capacity (const arrays let the compiler keep their bases in registers); longer runs
  // are processed in chunks of CAP samples.
  const CAP = 128;
  const G = new Float64Array(L * CAP);
  const Eb = new Float64Array(L * q * CAP);
  const F = new Float64Array(q * CAP);
  const MX = new Float64Array(CAP);
  const ZS = new Float64Array(CAP);
  const U = new Float64Array(Math.max(1, L * h * CAP));
  const DU = new Float64Array(Math.max(1, L * h * CAP));
  const C = new Float64Array(L * q * CAP);
  const DZ = new Float64Array(Math.max(1, L * q * h * CAP));

  /**
   * Forward over samples i0 + t, t < T, each quantity a loop over t with its parameter hoisted
   * (the sums accumulate in the same order as predict: s = 0, s += theta_k x_k, k ascending).
   * T <= CAP. Leaves G = gates, Eb, F (and U, DU with withDerivative); out[oo + t q + r] = f_r.
   */
  const forward = (i0: number, T: number, out: Float64Array, oo: number, withDerivative: boolean): void => {
    for (let j = 0; j < L; j++) {
      const go = gOff[j] as number;
      const gT = j * T;
      if (go < 0) G.fill(0, gT, gT + T);
      else {
        G.fill(0, gT, gT + T);
        for (let k = 0; k < d; k++) {
          const bk = theta[go + 1 + k] as number;
          const xo = k * n + i0;
          for (let t = 0; t < T; t++) G[gT + t] = (G[gT + t] as number) + bk * (XT[xo + t] as number);
        }
        const b = theta[go] as number;
        for (let t = 0; t < T; t++) G[gT + t] = b + (G[gT + t] as number);
      }
      const eo = eOff[j] as number;
      if (mlp === null) {
        for (let r = 0; r < q; r++) {
          const eT = (j * q + r) * T;
          if (shape.kind === 'constant') Eb.fill(theta[eo + r] as number, eT, eT + T);
          else {
            Eb.fill(theta[eo + q * d + r] as number, eT, eT + T);
            for (let k = 0; k < d; k++) {
              const ak = theta[eo + r * d + k] as number;
              const xo = k * n + i0;
              for (let t = 0; t < T; t++) Eb[eT + t] = (Eb[eT + t] as number) + ak * (XT[xo + t] as number);
            }
          }
        }
        continue;
      }
      for (let k = 0; k < h; k++) {
        const uT = (j * h + k) * T;
        U.fill(theta[eo + oc + k] as number, uT, uT + T);
        const w = eo + k * d;
        for (let l = 0; l < d; l++) {
          const wl = theta[w + l] as number;
          const xo = l * n + i0;
          for (let t = 0; t < T; t++) U[uT + t] = (U[uT + t] as number) + wl * (XT[xo + t] as number);
        }
        if (mlp.tanh) {
          for (let t = 0; t < T; t++) {
            const v = tanhExpm1(U[uT + t] as number);
            U[uT + t] = v;
            if (withDerivative) DU[uT + t] = 1 - v * v;
          }
        } else {
          const { f, df } = mlp;
          for (let t = 0; t < T; t++) {
            const z = U[uT + t] as number;
            const fz = f(z);
            U[uT + t] = fz;
            if (withDerivative) DU[uT + t] = df(z, fz);
          }
        }
      }
      for (let r = 0; r < q; r++) {
        const eT = (j * q + r) * T;
        if (!mlp.outLayer) {
          const uT = (j * h + r) * T;
          for (let t = 0; t < T; t++) Eb[eT + t] = U[uT + t] as number;
          continue;
        }
        Eb.fill(mlp.outBias ? (theta[eo + ov0 + r] as number) : 0, eT, eT + T);
        for (let k = 0; k < h; k++) {
          const vk = theta[eo + oV + r * h + k] as number;
          const uT = (j * h + k) * T;
          for (let t = 0; t < T; t++) Eb[eT + t] = (Eb[eT + t] as number) + vk * (U[uT + t] as number);
        }
      }
    }
    // Softmax over j per sample (max-shifted, as softmaxInPlace), then f_r = sum_j g_j e_jr.
    MX.fill(-Infinity, 0, T);
    for (let j = 0; j < L; j++) for (let t = 0; t < T; t++) MX[t] = Math.max(MX[t] as number, G[j * T + t] as number);
    ZS.fill(0, 0, T);
    for (let j = 0; j < L; j++) {
      const gT = j * T;
      for (let t = 0; t < T; t++) {
        const e = Math.exp((G[gT + t] as number) - (MX[t] as number));
        G[gT + t] = e;
        ZS[t] = (ZS[t] as number) + e;
      }
    }
    for (let t = 0; t < T; t++) ZS[t] = 1 / (ZS[t] as number);
    for (let j = 0; j < L; j++) {
      const gT = j * T;
      for (let t = 0; t < T; t++) G[gT + t] = (G[gT + t] as number) * (ZS[t] as number);
    }
    for (let r = 0; r < q; r++) {
      const fT = r * T;
      F.fill(0, fT, fT + T);
      for (let j = 0; j < L; j++) {
        const gT = j * T;
        const eT = (j * q + r) * T;
        for (let t = 0; t < T; t++) F[fT + t] = (F[fT + t] as number) + (G[gT + t] as number) * (Eb[eT + t] as number);
      }
      for (let t = 0; t < T; t++) out[oo + t * q + r] = F[fT + t] as number;
    }
  };

  /** Samples i0 + t, t < T <= CAP: out[oo + t q + r] = f_r and the J^T columns at rows oo + t q + r. */
  const chunk = (i0: number, T: number, out: Float64Array, jt: Float64Array, stride: number, oo: number): void => {
    forward(i0, T, out, oo, true);
    // Per-sample coefficients: C = g_j (e_jr - f_r), DZ = g_j (V_rk sigma'(z_k)) (or g_j sigma' on the diagonal).
    for (let j = 0; j < L; j++) {
      const gT = j * T;
      for (let r = 0; r < q; r++) {
        const cT = (j * q + r) * T;
        const fT = r * T;
        for (let t = 0; t < T; t++) C[cT + t] = (G[gT + t] as number) * ((Eb[cT + t] as number) - (F[fT + t] as number));
        if (mlp === null) continue;
        const eo = eOff[j] as number;
        for (let k = 0; k < h; k++) {
          const zT = ((j * q + r) * h + k) * T;
          const uT = (j * h + k) * T;
          if (mlp.outLayer) {
            const vk = theta[eo + oV + r * h + k] as number;
            for (let t = 0; t < T; t++) DZ[zT + t] = (G[gT + t] as number) * (vk * (DU[uT + t] as number));
          } else if (r === k) for (let t = 0; t < T; t++) DZ[zT + t] = (G[gT + t] as number) * (DU[uT + t] as number);
          else DZ.fill(0, zT, zT + T);
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
          const cb = go * stride + oo + r;
          for (let t = 0; t < T; t++) jt[cb + t * q] = C[cT + t] as number;
          for (let l = 0; l < d; l++) {
            const a = (go + 1 + l) * stride + oo + r;
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
              const a = (eo + s * d + l) * stride + oo;
              const xo = l * n + i0;
              for (let t = 0; t < T; t++)
                for (let r = 0; r < q; r++) jt[a + t * q + r] = r === s ? (G[gT + t] as number) * (XT[xo + t] as number) : 0;
            }
          }
          const a = (oa + s) * stride + oo;
          for (let t = 0; t < T; t++) for (let r = 0; r < q; r++) jt[a + t * q + r] = r === s ? (G[gT + t] as number) : 0;
        }
        continue;
      }
      for (let r = 0; r < q; r++) {
        for (let k = 0; k < h; k++) {
          const zT = ((j * q + r) * h + k) * T;
          for (let l = 0; l < d; l++) {
            const a = (eo + k * d + l) * stride + oo + r;
            const xo = l * n + i0;
            for (let t = 0; t < T; t++) jt[a + t * q] = (DZ[zT + t] as number) * (XT[xo + t] as number);
          }
          const a = (eo + oc + k) * stride + oo + r;
          for (let t = 0; t < T; t++) jt[a + t * q] = DZ[zT + t] as number;
        }
      }
      if (mlp.outLayer) {
        for (let s = 0; s < q; s++)
          for (let k = 0; k < h; k++) {
            const a = (eo + oV + s * h + k) * stride + oo;
            const uT = (j * h + k) * T;
            for (let t = 0; t < T; t++) for (let r = 0; r < q; r++) jt[a + t * q + r] = r === s ? (G[gT + t] as number) * (U[uT + t] as number) : 0;
          }
      }
      if (mlp.outBias) {
        for (let s = 0; s < q; s++) {
          const a = (eo + ov0 + s) * stride + oo;
          for (let t = 0; t < T; t++) for (let r = 0; r < q; r++) jt[a + t * q + r] = r === s ? (G[gT + t] as number) : 0;
        }
      }
    }
  };

  // q = 1: the unrolled kernels (same values, about 2.7x fewer cycles); otherwise the loops above.
  const ue: UnrolledExpert = mlp === null ? { kind: shape.kind === 'constant' ? 'constant' : 'affine' } : { kind: 'mlp', h, outLayer: mlp.outLayer, outBias: mlp.outBias, tanh: mlp.tanh };
  const unroll = options.unroll ?? true;
  const jk = unroll ? unrolledKernel(lay, ue, true) : null;
  const pk = unroll ? unrolledKernel(lay, ue, false) : null;
  const act = mlp === null ? tanhExpm1 : mlp.tanh ? tanhExpm1 : mlp.f;
  const dact = mlp === null ? tanhDerivative : mlp.tanh ? tanhDerivative : mlp.df;

  return {
    unrolled: jk !== null,
    bind(t: Float64Array): void {
      if (t.length !== P) throw new InputError('theta', `length ${P}`, `length ${t.length}`);
      theta.set(t);
    },
    predictRows(i0, count, out) {
      if (pk !== null) return pk(theta, XT, n, i0, count, out, 0, null, 0, act, dact);
      for (let c0 = 0; c0 < count; c0 += CAP) forward(i0 + c0, Math.min(CAP, count - c0), out, c0 * q, false);
    },
    jacobianRows(i0, count, out, jt, stride) {
      if (jk !== null) return jk(theta, XT, n, i0, count, out, 0, jt, stride, act, dact);
      for (let c0 = 0; c0 < count; c0 += CAP) chunk(i0 + c0, Math.min(CAP, count - c0), out, jt, stride, c0 * q);
    },

    flopsPerJacobian: L * (2 * d + 2 * q * (mlp === null ? (shape.kind === 'affine' ? d + 1 : 1) : h * (d + 2) + h + 1) + 2 * h * d + 20) + 2 * q * L,
  };
}
