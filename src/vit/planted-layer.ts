/**
 * One frozen ViT attention layer with planted prompts, in float64: the estimation problem of
 * the planted-layer study (src/vit/planted-layer-study.ts). The layer's input tokens (after its
 * LayerNorm LN1) and its W_Q, W_K, W_V come from the real backbone (src/vit/planted-cache.ts);
 * nothing here calls tfjs.
 *
 * Image i has T = 1 + N tokens x_{i,t} in R^d (CLS first, then the patch grid row-major), H heads
 * of width dh = d / H; head h uses columns h dh .. (h+1) dh - 1 of each projection (y = x W + b).
 * Output token t, head h (every token of the image, not only CLS: that is what identifies the
 * prompts):
 *
 *   q = (x_t W_Q + b_Q)^h / sqrt(dh),   kappa_s = (x_s W_K + b_K)^h,  nu_s = (x_s W_V + b_V)^h
 *   f_{t,h} = [ sum_s e^{q . kappa_s} nu_s + sum_j e^{q . K_j^h + b_j} V_j^h ] / [ same weights summed ]
 *
 * and the layer output of image i is f_i = [f_{t,h}] in R^{T d} (the heads before W_O: W_O, the
 * residual and everything after are fixed maps of it). Prompt atom j = (b_j, its parameters):
 *   vpt-deep  p_j in R^d (the prompt token as LN1 outputs it):  K_j = p_j W_K + b_K,  V_j = p_j W_V + b_V
 *   kv        k_j, v_j in R^d (prefix / E2VPT key-value prompts, all heads):  K_j = k_j,  V_j = v_j
 *   vapt      alpha_j in R^{H'W'}:  G_j = alpha_j C(X_i),  C = conv(patch grid of X_i) (H'W' x d),
 *             P_j = [residual] G_j + W2 relu(W1 G_j),  K_j = P_j W_K + b_K,  V_j = P_j W_V + b_V
 * b_j is the prompt's score bias (shared by the heads), as in the simulation's prompt mixtures
 * (src/mixture/prompt-mixture.ts): the atom's weight is exp(b_j), and it is what lets an
 * over-specified student put two atoms in one cell. VAPT's kernel, W1, W2 are known and fixed
 * (as in the simulation), so an atom is alpha_j alone.
 *
 * Objective (noise model y = f_{theta*}(X) + sigma eps, eps ~ N(0, I_{T d}) per image):
 *   F(theta) = 1 / (2 n T d) sum_i ||f_i(theta) - y_i||^2
 * Gradient (g_j the gate of prompt j, e = f - y per (t, h), c = 1 / (n T d)):
 *   dF/dV_j^h += c g_j e,   dF/ds_j = c g_j (V_j^h - f) . e,   dF/db_j += dF/ds_j,   dF/dK_j^h += dF/ds_j q
 *   vpt   dF/dp_j = W_K dF/dK_j + W_V dF/dV_j;   kv  dF/dk_j = dF/dK_j, dF/dv_j = dF/dV_j
 *   vapt  dF/dalpha_jk += [res] (CK_k . dK_j + CV_k . dV_j) + sum_r CW1_kr 1[h_jr > 0] (BK_r . dK_j + BV_r . dV_j)
 *         with CK = C W_K, CV = C W_V, CW1 = C W1^T, BK = W_K^T W2, BV = W_V^T W2 (per image / fixed).
 * Prepared once per (tokens, weights): per (i, t, h) the query q, the image tokens' log-sum
 * m0 = log sum_s e^{q . kappa_s} and their mixture nu0 = sum_s softmax_s nu_s, so an evaluation
 * costs O(n T H L dh) (vapt adds O(n L H'W' d)).
 */
import { InputError } from '../util/errors.js';
import { biasedAtomsFromMeasure, biasedAtomsToMeasure, type MixingMeasure } from '../mixture/measure.js';
import type { SmoothObjective } from '../estimate/minimize.js';
import { convInto } from '../prompts/vapt.js';
import { convGrid } from '../prompts/config.js';
import { PASS_GRAD, PASS_OUT, PASS_Y, plantedPassKernel } from './planted-pass-kernel.js';

export const PLANTED_FORMS = ['vpt-deep', 'kv', 'vapt'] as const;
export type PlantedForm = (typeof PLANTED_FORMS)[number];

/** A frozen attention layer: projections d x d, row-major, y = x W + b. */
export interface LayerWeights {
  readonly d: number;
  readonly heads: number;
  readonly WQ: Float64Array;
  readonly WK: Float64Array;
  readonly WV: Float64Array;
  readonly bQ: Float64Array;
  readonly bK: Float64Array;
  readonly bV: Float64Array;
}

/** The layer's input tokens (after LN1): n images of T = 1 + gh gw tokens, row-major n x T x d. */
export interface LayerTokens {
  readonly n: number;
  readonly T: number;
  readonly d: number;
  readonly X: Float64Array;
  /** Patch grid [rows, cols] of tokens 1..T-1. */
  readonly grid: readonly [number, number];
}

/** VAPT's known pretrained part (kernel K x K, W1 r x d, W2 d x r). */
export interface VaptPart {
  readonly kernel: Float64Array;
  readonly K: number;
  readonly padding: number;
  readonly rank: number;
  readonly residual: boolean;
  readonly W1: Float64Array;
  readonly W2: Float64Array;
}

export interface PlantedLayerConfig {
  readonly form: PlantedForm;
  /** Number of prompt atoms L. */
  readonly atoms: number;
  readonly vapt?: VaptPart;
}

export interface PlantedLayer {
  readonly form: PlantedForm;
  readonly atoms: number;
  /** Parameters per atom, bias first. */
  readonly atomSize: number;
  readonly nParams: number;
  readonly blocks: ReadonlyArray<{ readonly name: string; readonly length: number }>;
  /** Numbers per image output (T d). */
  readonly outputDim: number;
  /** Output layout: token-major rows of width d, head h in columns h dh .. (h+1) dh - 1 (dh = d / heads). */
  readonly width: number;
  readonly heads: number;
  readonly n: number;
  /** out (n T d) = f(theta) on every image. */
  predict(theta: Float64Array, out: Float64Array): void;
  /** F(theta) = 1/(2 n T d) ||f(theta) - Y||^2 and its gradient (see the header). */
  objective(Y: Float64Array): SmoothObjective;
  /** Mean squared residual ||f(theta) - Y||^2 / (n T d). */
  meanSquaredResidual(theta: Float64Array, Y: Float64Array): number;
  /** Each prompt's attention share g_j = e^{s_j} / z averaged over images, tokens and heads (L numbers). */
  gateMeans(theta: Float64Array): Float64Array;
  toMeasure(theta: Float64Array): MixingMeasure;
  fromMeasure(g: MixingMeasure): Float64Array;
}

function checkLength(a: Float64Array, len: number, name: string): void {
  if (a.length !== len) throw new InputError(name, `${len} numbers`, String(a.length));
}

/** The prepared prompted layer of a config on given tokens and weights. */
export function plantedLayer(tokens: LayerTokens, weights: LayerWeights, config: PlantedLayerConfig): PlantedLayer {
  const { n, T, d, X } = tokens;
  const H = weights.heads;
  if (weights.d !== d) throw new InputError('weights.d', `the token width ${d}`, String(weights.d));
  if (!Number.isInteger(H) || H < 1 || d % H !== 0) throw new InputError('weights.heads', `a divisor of ${d}`, String(H));
  checkLength(X, n * T * d, 'tokens.X');
  for (const k of ['WQ', 'WK', 'WV'] as const) checkLength(weights[k], d * d, `weights.${k}`);
  for (const k of ['bQ', 'bK', 'bV'] as const) checkLength(weights[k], d, `weights.${k}`);
  if (tokens.grid[0] * tokens.grid[1] !== T - 1) throw new InputError('tokens.grid', `rows * cols = T - 1 = ${T - 1}`, `${tokens.grid[0]}x${tokens.grid[1]}`);
  const L = config.atoms;
  if (!Number.isInteger(L) || L < 1) throw new InputError('atoms', 'an integer >= 1', String(L));
  const form = config.form;
  if (!PLANTED_FORMS.includes(form)) throw new InputError('form', PLANTED_FORMS.join(', '), String(form));
  const isVapt = form === 'vapt';
  const vp = config.vapt;
  if (isVapt && vp === undefined) throw new InputError('vapt', 'the VAPT kernel, W1 and W2');
  const dh = d / H;
  const inv = 1 / Math.sqrt(dh);
  const { WQ, WK, WV, bQ, bK, bV } = weights;
  const r = vp?.rank ?? 0;
  const [Ho, Wo] = isVapt ? convGrid(tokens.grid, (vp as VaptPart).K, (vp as VaptPart).padding) : [0, 0];
  const HW = Ho * Wo;
  if (isVapt) {
    const v = vp as VaptPart;
    checkLength(v.kernel, v.K * v.K, 'vapt.kernel');
    checkLength(v.W1, r * d, 'vapt.W1');
    checkLength(v.W2, d * r, 'vapt.W2');
    if (HW < 1) throw new InputError('vapt.K', `a kernel that fits the ${tokens.grid[0]}x${tokens.grid[1]} grid`, String(v.K));
  }
  const blocks = form === 'vpt-deep' ? [{ name: 'p', length: d }] : form === 'kv' ? [{ name: 'k', length: d }, { name: 'v', length: d }] : [{ name: 'alpha', length: HW }];
  const atomSize = 1 + blocks.reduce((s, b) => s + b.length, 0);
  const nParams = L * atomSize;
  const outputDim = T * d;

  // --- Prepared, theta-free part. ---
  // Image-independent prompts run the pass in WebAssembly when it is built; the prepared arrays then live in its memory.
  const kernel = isVapt || process.env['PROMPT_EXPERTS_NO_WASM'] === '1' ? null : plantedPassKernel(n * T, d, H, L);
  const Qs = kernel?.Q ?? new Float64Array(n * T * d);
  const Nu0 = kernel?.NU ?? new Float64Array(n * T * d);
  const M0 = kernel?.M0 ?? new Float64Array(n * T * H);
  const Kt = new Float64Array(T * d);
  const Vt = new Float64Array(T * d);
  const sc = new Float64Array(T);
  const proj = (x: Float64Array, xo: number, W: Float64Array, b: Float64Array, out: Float64Array, oo: number, scale: number): void => {
    for (let c = 0; c < d; c++) out[oo + c] = b[c] as number;
    for (let m = 0; m < d; m++) {
      const xm = x[xo + m] as number;
      if (xm === 0) continue;
      const wo = m * d;
      for (let c = 0; c < d; c++) out[oo + c] = (out[oo + c] as number) + xm * (W[wo + c] as number);
    }
    if (scale !== 1) for (let c = 0; c < d; c++) out[oo + c] = (out[oo + c] as number) * scale;
  };
  // VAPT per image: CK, CV (H'W' x d), CW1 (H'W' x r); fixed BK, BV (d x r).
  const CK = isVapt ? new Float64Array(n * HW * d) : new Float64Array(0);
  const CV = isVapt ? new Float64Array(n * HW * d) : new Float64Array(0);
  const CW1 = isVapt ? new Float64Array(n * HW * r) : new Float64Array(0);
  const BK = new Float64Array(d * r);
  const BV = new Float64Array(d * r);
  const Cbuf = new Float64Array(HW * d);
  const patchBuf = { rows: T - 1, cols: d, data: new Float64Array((T - 1) * d) };
  if (isVapt) {
    const v = vp as VaptPart;
    for (let c = 0; c < d; c++) {
      for (let t = 0; t < r; t++) {
        let sk = 0;
        let sv = 0;
        for (let m = 0; m < d; m++) {
          const w2 = v.W2[m * r + t] as number;
          sk += (WK[m * d + c] as number) * w2;
          sv += (WV[m * d + c] as number) * w2;
        }
        BK[c * r + t] = sk;
        BV[c * r + t] = sv;
      }
    }
  }
  for (let i = 0; i < n; i++) {
    const xo = i * T * d;
    for (let t = 0; t < T; t++) {
      proj(X, xo + t * d, WK, bK, Kt, t * d, 1);
      proj(X, xo + t * d, WV, bV, Vt, t * d, 1);
      proj(X, xo + t * d, WQ, bQ, Qs, (i * T + t) * d, inv);
    }
    for (let t = 0; t < T; t++) {
      const qo = (i * T + t) * d;
      for (let h = 0; h < H; h++) {
        const ho = h * dh;
        let mx = -Infinity;
        for (let s = 0; s < T; s++) {
          let v = 0;
          for (let c = 0; c < dh; c++) v += (Qs[qo + ho + c] as number) * (Kt[s * d + ho + c] as number);
          sc[s] = v;
          if (v > mx) mx = v;
        }
        let z = 0;
        for (let s = 0; s < T; s++) {
          const e = Math.exp((sc[s] as number) - mx);
          sc[s] = e;
          z += e;
        }
        M0[(i * T + t) * H + h] = mx + Math.log(z);
        for (let c = 0; c < dh; c++) {
          let v = 0;
          for (let s = 0; s < T; s++) v += (sc[s] as number) * (Vt[s * d + ho + c] as number);
          Nu0[qo + ho + c] = v / z;
        }
      }
    }
    if (isVapt) {
      const v = vp as VaptPart;
      patchBuf.data.set(X.subarray(xo + d, xo + T * d));
      convInto(patchBuf, tokens.grid, { rows: v.K, cols: v.K, data: v.kernel }, v.padding, Cbuf);
      for (let k = 0; k < HW; k++) {
        const co = (i * HW + k) * d;
        for (let c = 0; c < d; c++) {
          CK[co + c] = 0;
          CV[co + c] = 0;
        }
        for (let m = 0; m < d; m++) {
          const cm = Cbuf[k * d + m] as number;
          for (let c = 0; c < d; c++) {
            CK[co + c] = (CK[co + c] as number) + cm * (WK[m * d + c] as number);
            CV[co + c] = (CV[co + c] as number) + cm * (WV[m * d + c] as number);
          }
        }
        for (let t = 0; t < r; t++) {
          let s = 0;
          for (let m = 0; m < d; m++) s += (v.W1[t * d + m] as number) * (Cbuf[k * d + m] as number);
          CW1[(i * HW + k) * r + t] = s;
        }
      }
    }
  }

  // --- Evaluation buffers. ---
  const Kp = kernel?.KP ?? new Float64Array(L * d);
  const Vp = kernel?.VP ?? new Float64Array(L * d);
  const gK = kernel?.GK ?? new Float64Array(L * d);
  const gV = kernel?.GV ?? new Float64Array(L * d);
  const gKi = new Float64Array(L * d);
  const gVi = new Float64Array(L * d);
  const bias = new Float64Array(L);
  const s = new Float64Array(L);
  const w = new Float64Array(L);
  const f = new Float64Array(dh);
  const res = new Float64Array(dh);
  const hpre = new Float64Array(L * r);
  const alpha = new Float64Array(L * HW);

  const checkTheta = (theta: Float64Array): void => {
    if (theta.length !== nParams) throw new InputError('theta', `an array of length ${nParams}`, String(theta.length));
  };

  /** Prompt keys / values of image i (vapt) into Kp, Vp (pre-activations into hpre). */
  const vaptPrompts = (i: number): void => {
    const v = vp as VaptPart;
    const res = v.residual;
    for (let j = 0; j < L; j++) {
      const ko = j * d;
      for (let t = 0; t < r; t++) {
        let acc = 0;
        for (let k = 0; k < HW; k++) acc += (alpha[j * HW + k] as number) * (CW1[(i * HW + k) * r + t] as number);
        hpre[j * r + t] = acc;
      }
      for (let c = 0; c < d; c++) {
        Kp[ko + c] = bK[c] as number;
        Vp[ko + c] = bV[c] as number;
      }
      if (res) {
        for (let k = 0; k < HW; k++) {
          const a = alpha[j * HW + k] as number;
          const co = (i * HW + k) * d;
          for (let c = 0; c < d; c++) {
            Kp[ko + c] = (Kp[ko + c] as number) + a * (CK[co + c] as number);
            Vp[ko + c] = (Vp[ko + c] as number) + a * (CV[co + c] as number);
          }
        }
      }
      for (let c = 0; c < d; c++) {
        let sk = 0;
        let sv = 0;
        for (let t = 0; t < r; t++) {
          const u = hpre[j * r + t] as number;
          if (u <= 0) continue;
          sk += (BK[c * r + t] as number) * u;
          sv += (BV[c * r + t] as number) * u;
        }
        Kp[ko + c] = (Kp[ko + c] as number) + sk;
        Vp[ko + c] = (Vp[ko + c] as number) + sv;
      }
    }
  };

  /** Chain image i's dF/dK_j, dF/dV_j (gKi, gVi) into dF/dalpha (grad). */
  const vaptBackward = (i: number, grad: Float64Array): void => {
    const v = vp as VaptPart;
    for (let j = 0; j < L; j++) {
      const ko = j * d;
      const go = j * atomSize + 1;
      for (let t = 0; t < r; t++) {
        if ((hpre[j * r + t] as number) <= 0) continue;
        let u = 0;
        for (let c = 0; c < d; c++) u += (BK[c * r + t] as number) * (gKi[ko + c] as number) + (BV[c * r + t] as number) * (gVi[ko + c] as number);
        for (let k = 0; k < HW; k++) grad[go + k] = (grad[go + k] as number) + (CW1[(i * HW + k) * r + t] as number) * u;
      }
      if (v.residual) {
        for (let k = 0; k < HW; k++) {
          const co = (i * HW + k) * d;
          let u = 0;
          for (let c = 0; c < d; c++) u += (CK[co + c] as number) * (gKi[ko + c] as number) + (CV[co + c] as number) * (gVi[ko + c] as number);
          grad[go + k] = (grad[go + k] as number) + u;
        }
      }
    }
  };

  /** dF/dp_j (vpt-deep) or dF/dk_j, dF/dv_j (kv) from the summed dF/dK_j, dF/dV_j (gK, gV) into grad. */
  const promptGradient = (grad: Float64Array): void => {
    if (form === 'vpt-deep') {
      for (let j = 0; j < L; j++) {
        const go = j * atomSize + 1;
        for (let m = 0; m < d; m++) {
          let acc = 0;
          for (let c = 0; c < d; c++) acc += (WK[m * d + c] as number) * (gK[j * d + c] as number) + (WV[m * d + c] as number) * (gV[j * d + c] as number);
          grad[go + m] = acc;
        }
      }
    } else if (form === 'kv') {
      for (let j = 0; j < L; j++) {
        const go = j * atomSize + 1;
        for (let c = 0; c < d; c++) {
          grad[go + c] = gK[j * d + c] as number;
          grad[go + d + c] = gV[j * d + c] as number;
        }
      }
    }
  };

  /** One pass: returns ||f - Y||^2 (Y given) and writes out / the unscaled gradient sums / the summed gates. */
  const pass = (theta: Float64Array, Y: Float64Array | null, out: Float64Array | null, grad: Float64Array | null, gates: Float64Array | null = null): number => {
    checkTheta(theta);
    for (let j = 0; j < L; j++) {
      const o = j * atomSize;
      bias[j] = theta[o] as number;
      if (form === 'vpt-deep') {
        proj(theta, o + 1, WK, bK, Kp, j * d, 1);
        proj(theta, o + 1, WV, bV, Vp, j * d, 1);
      } else if (form === 'kv') {
        for (let c = 0; c < d; c++) {
          Kp[j * d + c] = theta[o + 1 + c] as number;
          Vp[j * d + c] = theta[o + 1 + d + c] as number;
        }
      } else {
        for (let k = 0; k < HW; k++) alpha[j * HW + k] = theta[o + 1 + k] as number;
      }
    }
    if (kernel !== null && gates === null) {
      // The same pass in WebAssembly (planted-pass.wat), to the bit.
      kernel.B.set(bias);
      const sse = kernel.run((Y !== null ? PASS_Y : 0) | (grad !== null ? PASS_GRAD : 0) | (out !== null ? PASS_OUT : 0), Y, out);
      if (grad !== null) {
        grad.fill(0);
        for (let j = 0; j < L; j++) grad[j * atomSize] = kernel.GB[j] as number;
        promptGradient(grad);
      }
      return sse;
    }
    if (grad !== null) {
      grad.fill(0);
      gK.fill(0);
      gV.fill(0);
    }
    let sse = 0;
    for (let i = 0; i < n; i++) {
      const gKa = isVapt ? gKi : gK;
      const gVa = isVapt ? gVi : gV;
      if (isVapt) {
        vaptPrompts(i);
        if (grad !== null) {
          gKi.fill(0);
          gVi.fill(0);
        }
      }
      for (let t = 0; t < T; t++) {
        const base = i * T + t;
        const qo = base * d;
        for (let h = 0; h < H; h++) {
          const ho = h * dh;
          const m0 = M0[base * H + h] as number;
          let mx = m0;
          for (let j = 0; j < L; j++) {
            let v = bias[j] as number;
            const ko = j * d + ho;
            for (let c = 0; c < dh; c++) v += (Qs[qo + ho + c] as number) * (Kp[ko + c] as number);
            s[j] = v;
            if (v > mx) mx = v;
          }
          const w0 = Math.exp(m0 - mx);
          let z = w0;
          for (let j = 0; j < L; j++) {
            const e = Math.exp((s[j] as number) - mx);
            w[j] = e;
            z += e;
          }
          const iz = 1 / z;
          if (gates !== null) for (let j = 0; j < L; j++) gates[j] = (gates[j] as number) + (w[j] as number) * iz;
          for (let c = 0; c < dh; c++) f[c] = w0 * (Nu0[qo + ho + c] as number);
          for (let j = 0; j < L; j++) {
            const wj = w[j] as number;
            const ko = j * d + ho;
            for (let c = 0; c < dh; c++) f[c] = (f[c] as number) + wj * (Vp[ko + c] as number);
          }
          for (let c = 0; c < dh; c++) f[c] = (f[c] as number) * iz;
          if (out !== null) for (let c = 0; c < dh; c++) out[qo + ho + c] = f[c] as number;
          if (Y === null) continue;
          // Residual e = f - y, once per (t, h).
          for (let c = 0; c < dh; c++) {
            const e = (f[c] as number) - (Y[qo + ho + c] as number);
            res[c] = e;
            sse += e * e;
          }
          if (grad === null) continue;
          for (let j = 0; j < L; j++) {
            const gj = (w[j] as number) * iz;
            const ko = j * d + ho;
            let ds = 0;
            for (let c = 0; c < dh; c++) {
              const e = res[c] as number;
              ds += ((Vp[ko + c] as number) - (f[c] as number)) * e;
              gVa[ko + c] = (gVa[ko + c] as number) + gj * e;
            }
            ds *= gj;
            grad[j * atomSize] = (grad[j * atomSize] as number) + ds;
            for (let c = 0; c < dh; c++) gKa[ko + c] = (gKa[ko + c] as number) + ds * (Qs[qo + ho + c] as number);
          }
        }
      }
      if (isVapt && grad !== null) vaptBackward(i, grad);
    }
    if (grad !== null) promptGradient(grad);
    return sse;
  };

  const total = n * T * d;
  const objective = (Y: Float64Array): SmoothObjective => {
    checkLength(Y, total, 'Y');
    return {
      dim: nParams,
      valueAndGradient(theta, grad) {
        const sse = pass(theta, Y, null, grad);
        const c = 1 / total;
        for (let k = 0; k < nParams; k++) grad[k] = (grad[k] as number) * c;
        return (0.5 * sse) / total;
      },
    };
  };

  const toMeasure = (theta: Float64Array): MixingMeasure => {
    checkTheta(theta);
    return biasedAtomsToMeasure(theta, L, atomSize, blocks);
  };
  const fromMeasure = (g: MixingMeasure): Float64Array => biasedAtomsFromMeasure(g, L, atomSize, blocks);

  return {
    form,
    atoms: L,
    atomSize,
    nParams,
    blocks,
    outputDim,
    width: d,
    heads: H,
    n,
    predict(theta, out) {
      checkLength(out, total, 'out');
      pass(theta, null, out, null);
    },
    objective,
    meanSquaredResidual(theta, Y) {
      checkLength(Y, total, 'Y');
      return pass(theta, Y, null, null) / total;
    },
    gateMeans(theta) {
      const g = new Float64Array(L);
      pass(theta, null, null, null, g);
      for (let j = 0; j < L; j++) g[j] = (g[j] as number) / (n * T * H);
      return g;
    },
    toMeasure,
    fromMeasure,
  };
}
