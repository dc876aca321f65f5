/**
 * The prompt mixtures of docs/theory.md §4 (prompt-mixture) as regression families: one head, one query row (row 0 of
 * the token matrix), the pretrained part known and fixed, only the prompt atoms estimated.
 *
 *   x = vec(X), X in R^{N x d} (row-major);  q = W_Q^T x_0;  kappa_i = W_K^T x_i, nu_i = W_V^T x_i (i < N)
 *   f_G(X) = [ sum_i exp(q . kappa_i / sqrt(dk)) nu_i + sum_j exp(q . kappa_{N+j} / sqrt(dk) + b_j) nu_{N+j} ]
 *            / [ same weights summed ]                                          (y in R^dv)
 *
 * Prompt atoms theta_j (theta layout, atom by atom: [b_j, atom parameters]):
 *   vpt   (p_j in R^d, b_j)             kappa_{N+j} = W_K^T p_j,  nu_{N+j} = W_V^T p_j    (tied, constant in X)
 *   kv    (k_j in R^dk, v_j in R^dv, b_j)  kappa_{N+j} = k_j,     nu_{N+j} = v_j          (untied prefix / E2VPT kv)
 *   vapt  (alpha_j in R^{H'W'}, b_j)    P_j = G_j + W2 relu(W1 G_j) (or W2 relu(W1 G_j) without residual),
 *                                       G_j = alpha_j conv(LN(X)),  kappa = W_K^T P_j, nu = W_V^T P_j
 * G = sum_j exp(b_j) delta_{theta_j}: each atom of the measure has weight exp(b_j) and params
 * { p } / { k, v } / { alpha }. The token experts carry no bias, so there is no translation
 * symmetry in (b, scores) to anchor away.
 *
 * Normalisation (what makes a distance between atoms meaningful): in VAPT the shared feature MLP
 * (W1, W2), the convolution kernel, the LayerNorm (gamma = 1, beta = 0 when enabled) and the
 * projector bias (fixed at 0) belong to the known pretrained part, drawn once from `seed`, and
 * are never fitted. Fixing W1 and W2 removes ReLU's positive scaling symmetry
 * (W1, W2) -> (c W1, W2 / c) and the MLP-against-alpha symmetry (alpha -> c alpha with W1 -> W1 / c),
 * so an atom is its alpha_j alone (with b_j). For VPT, p_j enters only through W_K^T p_j and
 * W_V^T p_j: it is identifiable when [W_K W_V] has rank d (d <= dk + dv, true for Gaussian
 * weights); with d > dk + dv the component of p_j in the common null space is not.
 *
 * Computed through src/attention: the keys and values of all N + L experts are written into
 * buffers and the output row is produced by the same row kernels as `moeView`
 * (`scoreRowInto`, `softmaxInto`, `mixRowInto`); VAPT prompts by the same building blocks as
 * src/prompts/vapt.ts (`layerNormInto`, `convInto`, `featureMlpInto`). All buffers are allocated
 * once per family, so `predict` and `jacobian` allocate nothing per sample.
 *
 * Jacobian (g_j the gate of prompt expert j, f the output, a = W_K q / sqrt(dk)):
 *   d f / d b_j       = g_j (nu_j - f)
 *   vpt   d f / d p_j = g_j [ (nu_j - f) a^T + W_V^T ]
 *   kv    d f / d k_j = g_j (nu_j - f) q^T / sqrt(dk),    d f / d v_j = g_j I
 *   vapt  d f / d alpha_jk = g_j [ (nu_j - f) a^T M_j C_k + W_V^T M_j C_k ],
 *         M_j = [residual] I + W2 D_j W1,  D_j = diag(1[W1 G_j > 0]),  C_k = row k of conv(LN(X)).
 *
 * `prepare(samples)` (the least-squares fast path) computes the theta-free part once per fit:
 * per sample the token experts' aggregate m0 = log sum_i exp(q . kappa_i / sqrt(dk)) and
 * nu0 = sum_i softmax_i nu_i (i < N), and the query/convolution products the prompt scores need
 *   vpt a;  kv w = q / sqrt(dk);  vapt Ca_k = a . C_k, CW1_k = W1 C_k, CWV_k = W_V^T C_k, w2a = W2^T a,
 * so that each evaluation is left with the L prompt experts only:
 *   f = (e^{m0} nu0 + sum_j e^{s_j} nu_j) / (e^{m0} + sum_j e^{s_j})
 *   vpt  s_j = b_j + a . p_j,  nu_j = W_V^T p_j (once per theta);   kv  s_j = b_j + w . k_j,  nu_j = v_j
 *   vapt h_j = alpha_j CW1 (= W1 G_j),  s_j = b_j + [res] alpha_j . Ca + w2a . relu(h_j),
 *        nu_j = [res] alpha_j CWV + B relu(h_j)   (B = W_V^T W2)
 *        a^T M_j C_k = [res] Ca_k + CW1_k . (D_j w2a),  W_V^T M_j C_k = [res] CWV_k + (B D_j) CW1_k,
 *        so d f / d alpha_jk = [res] (u_j Ca_k + g_j CWV_k) + Q_j CW1_k,  Q_j = (u_j w2a^T + g_j B) D_j,
 *        u_j = g_j (nu_j - f)
 * and scores, gates, output and every atom's Jacobian columns come out of one pass per sample.
 * Memory: n (1 + dv + {vpt d | kv dk | vapt H'W'(1 + r + dv) + r}) floats.
 */
import { vaptKernel, type VaptKernel } from './vapt-unrolled.js';
import { z } from 'zod';
import { type Mat, softmaxInto } from '../linalg/mat.js';
import { mixRowInto, scoreRowInto } from '../attention/head.js';
import type { Head, PromptExperts } from '../attention/types.js';
import { convGrid } from '../prompts/config.js';
import { LN_EPS, convInto, featureMlpInto, layerNormInto, vaptExperts, type VaptHeadPrompt } from '../prompts/vapt.js';
import type { HeadPrompt } from '../prompts/head-prompt.js';
import { InputError } from '../util/errors.js';
import { makeRng, type Rng } from '../util/rng.js';
import { parseInput } from '../prompts/validate.js';
import type { PreparedFamily, RegressionFamily, Samples } from './family.js';
import { biasedAtomsFromMeasure, biasedAtomsToMeasure, type MixingMeasure } from './measure.js';

export type PromptMixtureKind = 'vpt' | 'kv' | 'vapt';

export interface PromptMixtureConfig {
  readonly kind: PromptMixtureKind;
  /** Number of tokens N (for vapt, H * W of the grid). */
  readonly tokens: number;
  /** Token width d. */
  readonly width: number;
  readonly dk: number;
  readonly dv: number;
  /** Number of prompt atoms L. */
  readonly atoms: number;
  /** vapt: patch grid [H, W] with H * W = N (default: the most square factorisation of N). */
  readonly grid?: readonly [number, number];
  /** vapt: kernel size K (default 2, or 1 if the grid is thinner). */
  readonly kernel?: number;
  /** vapt: zero padding (default 0). */
  readonly padding?: number;
  /** vapt: hidden width r of the shared MLP (default 8). */
  readonly rank?: number;
  /** vapt: P = G + g(G) (default true) or g(G). */
  readonly residual?: boolean;
  /** vapt: LayerNorm (gamma 1, beta 0) before the convolution (default false). */
  readonly layerNorm?: boolean;
  /** Seed of the pretrained weights (W_Q, W_K, W_V; vapt: kernel, W1, W2). */
  readonly seed: number;
}

/** The config with every default filled in. */
export interface ResolvedPromptMixtureConfig extends PromptMixtureConfig {
  readonly grid: readonly [number, number];
  readonly kernel: number;
  readonly padding: number;
  readonly rank: number;
  readonly residual: boolean;
  readonly layerNorm: boolean;
}

export interface PromptMixturePretrained {
  readonly head: Head;
  /** vapt only (null otherwise). */
  readonly kernel: Mat | null;
  readonly W1: Mat | null;
  readonly W2: Mat | null;
}

export interface PromptMixtureFamily extends RegressionFamily {
  readonly config: ResolvedPromptMixtureConfig;
  readonly kind: PromptMixtureKind;
  /** Number of prompt atoms L. */
  readonly atoms: number;
  /** Parameters per atom, bias included (theta has atoms * atomSize entries). */
  readonly atomSize: number;
  /** Names and lengths of an atom's parameter blocks (after the bias), in theta order. */
  readonly blocks: ReadonlyArray<{ readonly name: string; readonly length: number }>;
  /** Typical scale of an atom's parameters (1, or 1/sqrt(H'W') for alpha). */
  readonly paramScale: number;
  readonly pretrained: PromptMixturePretrained;
  /** A random theta (for random starts): parameters N(0, paramScale^2), biases log(N / L). */
  sampleTheta(rng: Rng): Float64Array;
  /** n token matrices with i.i.d. N(0, 1) entries, row-major n x (N d). */
  sampleInputs(n: number, rng: Rng): Float64Array;
  /** The prompt experts at X (keys, values, scoreBias = b) for `moeView`. */
  promptExperts(theta: Float64Array, X: Mat): PromptExperts;
  /** The atoms as a head-level prompt of src/prompts (without the score biases). */
  headPrompt(theta: Float64Array): HeadPrompt;
  /** Approximate floating-point operations of one `jacobian` call. */
  readonly flopsPerJacobian: number;
}

const positive = z.int().min(1);
export const promptMixtureConfigSchema = z.object({
  kind: z.enum(['vpt', 'kv', 'vapt']),
  tokens: positive,
  width: positive,
  dk: positive,
  dv: positive,
  atoms: positive,
  grid: z.tuple([positive, positive]).optional(),
  kernel: positive.optional(),
  padding: z.int().min(0).optional(),
  rank: positive.optional(),
  residual: z.boolean().optional(),
  layerNorm: z.boolean().optional(),
  seed: z.int().min(0).max(4294967295),
});

function squarestGrid(N: number): [number, number] {
  let h = Math.floor(Math.sqrt(N));
  while (N % h !== 0) h--;
  return [h, N / h];
}

/** Validate a config (InputError naming the field) and fill in its defaults. */
export function resolvePromptMixtureConfig(config: PromptMixtureConfig, base = ''): ResolvedPromptMixtureConfig {
  const c = parseInput(promptMixtureConfigSchema, config, base);
  const f = (name: string): string => (base === '' ? name : `${base}.${name}`);
  const grid: [number, number] = c.grid === undefined ? squarestGrid(c.tokens) : [c.grid[0], c.grid[1]];
  if (c.kind === 'vapt' && grid[0] * grid[1] !== c.tokens) {
    throw new InputError(f('grid'), `H*W equal to tokens (${c.tokens})`, `${grid[0]}x${grid[1]} = ${grid[0] * grid[1]}`);
  }
  const padding = c.padding ?? 0;
  const kernel = c.kernel ?? Math.min(2, Math.min(grid[0], grid[1]) + 2 * padding);
  if (c.kind === 'vapt' && kernel > Math.min(grid[0], grid[1]) + 2 * padding) {
    throw new InputError(f('kernel'), `at most ${Math.min(grid[0], grid[1]) + 2 * padding} (the padded grid ${grid[0] + 2 * padding}x${grid[1] + 2 * padding})`, String(kernel));
  }
  return { ...c, grid, kernel, padding, rank: c.rank ?? 8, residual: c.residual ?? true, layerNorm: c.layerNorm ?? false };
}

function gaussMat(rng: Rng, rows: number, cols: number, sd: number): Mat {
  const data = new Float64Array(rows * cols);
  for (let k = 0; k < data.length; k++) data[k] = sd * rng.normal();
  return { rows, cols, data };
}

/** The prompt mixture family of a config (see the module header for the model). */
export function promptMixture(config: PromptMixtureConfig): PromptMixtureFamily {
  const cfg = resolvePromptMixtureConfig(config);
  const { kind, tokens: N, width: d, dk, dv, atoms: L, residual } = cfg;
  const E = N + L;
  const inv = 1 / Math.sqrt(dk);

  // Pretrained part, drawn in a fixed order that does not depend on L.
  const rng = makeRng(cfg.seed);
  const WQ = gaussMat(rng, d, dk, 1 / Math.sqrt(d));
  const WK = gaussMat(rng, d, dk, 1 / Math.sqrt(d));
  const WV = gaussMat(rng, d, dv, 1 / Math.sqrt(d));
  const head: Head = { WQ, WK, WV };
  const isVapt = kind === 'vapt';
  const K = cfg.kernel;
  const r = cfg.rank;
  const [Ho, Wo] = isVapt ? convGrid(cfg.grid, K, cfg.padding) : [0, 0];
  const HW = Ho * Wo;
  const kernel = isVapt ? gaussMat(rng, K, K, 1 / K) : null;
  const W1 = isVapt ? gaussMat(rng, r, d, 1 / Math.sqrt(d)) : null;
  const W2 = isVapt ? gaussMat(rng, d, r, 1 / Math.sqrt(r)) : null;

  const blocks =
    kind === 'vpt'
      ? [{ name: 'p', length: d }]
      : kind === 'kv'
        ? [
            { name: 'k', length: dk },
            { name: 'v', length: dv },
          ]
        : [{ name: 'alpha', length: HW }];
  const atomSize = 1 + blocks.reduce((s, b) => s + b.length, 0);
  const nParams = L * atomSize;
  const paramScale = isVapt ? 1 / Math.sqrt(HW) : 1;

  // Buffers, allocated once.
  const xm: { rows: number; cols: number; data: Float64Array } = { rows: N, cols: d, data: new Float64Array(N * d) };
  const q = new Float64Array(dk);
  const a = new Float64Array(d);
  const keys = new Float64Array(E * dk);
  const values = new Float64Array(E * dv);
  const bias = new Float64Array(E);
  const scores = new Float64Array(E);
  const gates = new Float64Array(E);
  const lnOut = isVapt && cfg.layerNorm ? new Float64Array(N * d) : null;
  const lnMat = lnOut === null ? null : { rows: N, cols: d, data: lnOut };
  const C = new Float64Array(HW * d);
  const alphaBuf = new Float64Array(L * HW);
  const Gbuf = new Float64Array(L * d);
  const Gmat: Mat = { rows: L, cols: d, data: Gbuf };
  const pre = new Float64Array(L * r);
  const P = new Float64Array(L * d);
  const Ca = new Float64Array(HW);
  const CWV = new Float64Array(HW * dv);
  const CW1 = new Float64Array(HW * r);
  const w2a = new Float64Array(r);
  // B = W_V^T W2 (dv x r), fixed.
  const B = new Float64Array(dv * r);
  if (W2 !== null) {
    for (let c = 0; c < dv; c++) {
      for (let t = 0; t < r; t++) {
        let s = 0;
        for (let m = 0; m < d; m++) s += (WV.data[m * dv + c] as number) * (W2.data[m * r + t] as number);
        B[c * r + t] = s;
      }
    }
  }

  // W_K^T and W_V^T (rows contiguous), so each projected entry is one contiguous dot product.
  const transposeData = (W: Mat): Float64Array => {
    const t = new Float64Array(W.rows * W.cols);
    for (let k = 0; k < W.rows; k++) for (let m = 0; m < W.cols; m++) t[m * W.rows + k] = W.data[k * W.cols + m] as number;
    return t;
  };
  const WKt = transposeData(WK);
  const WVt = transposeData(WV);
  /** out[row * w .. + w) = W^T u for u = src[off..off+d), with Wt = W^T (w x d). */
  const project = (src: Float64Array, off: number, Wt: Float64Array, w: number, out: Float64Array, row: number): void => {
    const o = row * w;
    for (let m = 0; m < w; m++) {
      const wo = m * d;
      let s = 0;
      for (let k = 0; k < d; k++) s += (src[off + k] as number) * (Wt[wo + k] as number);
      out[o + m] = s;
    }
  };

  /** Query row 0 (q = W_Q^T x_0) and the token experts' keys and values, for token matrix x. */
  const projectTokens = (x: Float64Array): void => {
    xm.data = x;
    for (let m = 0; m < dk; m++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (x[k] as number) * (WQ.data[k * dk + m] as number);
      q[m] = s;
    }
    for (let i = 0; i < N; i++) {
      project(x, i * d, WKt, dk, keys, i);
      project(x, i * d, WVt, dv, values, i);
    }
  };

  const forward = (theta: Float64Array, x: Float64Array, out: Float64Array): void => {
    if (theta.length !== nParams) throw new InputError('theta', `an array of length ${nParams}`, `length ${theta.length}`);
    if (x.length !== N * d) throw new InputError('x', `an array of length ${N * d} (N d)`, `length ${x.length}`);
    projectTokens(x);
    for (let i = 0; i < N; i++) bias[i] = 0;
    // Prompt experts.
    for (let j = 0; j < L; j++) {
      const o = j * atomSize;
      bias[N + j] = theta[o] as number;
      if (kind === 'vpt') {
        project(theta, o + 1, WKt, dk, keys, N + j);
        project(theta, o + 1, WVt, dv, values, N + j);
      } else if (kind === 'kv') {
        for (let m = 0; m < dk; m++) keys[(N + j) * dk + m] = theta[o + 1 + m] as number;
        for (let m = 0; m < dv; m++) values[(N + j) * dv + m] = theta[o + 1 + dk + m] as number;
      } else {
        for (let k = 0; k < HW; k++) alphaBuf[j * HW + k] = theta[o + 1 + k] as number;
      }
    }
    if (isVapt) {
      const U: Mat = lnMat === null ? xm : lnMat;
      if (lnOut !== null) layerNormInto(xm, undefined, undefined, LN_EPS, lnOut);
      convInto(U, cfg.grid, kernel as Mat, cfg.padding, C);
      // G = alpha C (projector without bias), then P = featureMlp(G).
      for (let j = 0; j < L; j++) {
        for (let c = 0; c < d; c++) Gbuf[j * d + c] = 0;
        for (let k = 0; k < HW; k++) {
          const al = alphaBuf[j * HW + k] as number;
          if (al === 0) continue;
          for (let c = 0; c < d; c++) Gbuf[j * d + c] = (Gbuf[j * d + c] as number) + al * (C[k * d + c] as number);
        }
      }
      featureMlpInto(Gmat, W1 as Mat, W2 as Mat, residual, P, pre);
      for (let j = 0; j < L; j++) {
        project(P, j * d, WKt, dk, keys, N + j);
        project(P, j * d, WVt, dv, values, N + j);
      }
    }
    // The output row, with the MoE view's row kernels.
    scoreRowInto(q, 0, keys, E, dk, inv, bias, scores, 0);
    softmaxInto(scores, gates);
    mixRowInto(gates, 0, values, E, dv, out, 0);
  };

  const jacobian = (theta: Float64Array, x: Float64Array, out: Float64Array, jac: Float64Array): void => {
    forward(theta, x, out);
    jac.fill(0, 0, dv * nParams);
    if (kind !== 'kv') {
      // a = W_K q / sqrt(dk)
      for (let k = 0; k < d; k++) {
        let s = 0;
        for (let m = 0; m < dk; m++) s += (WK.data[k * dk + m] as number) * (q[m] as number);
        a[k] = s * inv;
      }
    }
    if (isVapt) {
      const w1 = W1 as Mat;
      const w2 = W2 as Mat;
      for (let t = 0; t < r; t++) {
        let s = 0;
        for (let m = 0; m < d; m++) s += (w2.data[m * r + t] as number) * (a[m] as number);
        w2a[t] = s;
      }
      for (let k = 0; k < HW; k++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += (C[k * d + c] as number) * (a[c] as number);
        Ca[k] = s;
        for (let c = 0; c < dv; c++) CWV[k * dv + c] = 0;
        for (let t = 0; t < r; t++) CW1[k * r + t] = 0;
        for (let m = 0; m < d; m++) {
          const cm = C[k * d + m] as number;
          if (cm === 0) continue;
          for (let c = 0; c < dv; c++) CWV[k * dv + c] = (CWV[k * dv + c] as number) + cm * (WV.data[m * dv + c] as number);
          for (let t = 0; t < r; t++) CW1[k * r + t] = (CW1[k * r + t] as number) + cm * (w1.data[t * d + m] as number);
        }
      }
    }
    const P_ = nParams;
    for (let j = 0; j < L; j++) {
      const g = gates[N + j] as number;
      const o = j * atomSize;
      for (let c = 0; c < dv; c++) {
        const diff = (values[(N + j) * dv + c] as number) - (out[c] as number);
        const row = c * P_;
        jac[row + o] = g * diff;
        if (kind === 'vpt') {
          for (let k = 0; k < d; k++) jac[row + o + 1 + k] = g * (diff * (a[k] as number) + (WV.data[k * dv + c] as number));
        } else if (kind === 'kv') {
          for (let m = 0; m < dk; m++) jac[row + o + 1 + m] = g * diff * (q[m] as number) * inv;
          jac[row + o + 1 + dk + c] = g;
        } else {
          for (let k = 0; k < HW; k++) {
            let ds = residual ? (Ca[k] as number) : 0;
            let dn = residual ? (CWV[k * dv + c] as number) : 0;
            for (let t = 0; t < r; t++) {
              if ((pre[j * r + t] as number) <= 0) continue;
              const cw = CW1[k * r + t] as number;
              ds += cw * (w2a[t] as number);
              dn += cw * (B[c * r + t] as number);
            }
            jac[row + o + 1 + k] = g * (diff * ds + dn);
          }
        }
      }
    }
  };

  // --- Prepared path (module header): per-sample record [m0, nu0 (dv), kind part]. ---
  const extSize = kind === 'vpt' ? d : kind === 'kv' ? dk : HW * (1 + r + dv) + r;
  const S = 1 + dv + extSize;
  const offCa = 1 + dv;
  const offCW1 = offCa + HW;
  const offCWV = offCW1 + HW * r;
  const offW2a = offCWV + HW * dv;
  const resid = residual ? 1 : 0;

  /** The theta-free record of one token matrix x into R[o..o+S). */
  const prepareRecord = (x: Float64Array, R: Float64Array, o: number): void => {
    projectTokens(x);
    scoreRowInto(q, 0, keys, N, dk, inv, undefined, scores, 0);
    let mx = -Infinity;
    for (let i = 0; i < N; i++) mx = Math.max(mx, scores[i] as number);
    let z = 0;
    for (let i = 0; i < N; i++) {
      const e = Math.exp((scores[i] as number) - mx);
      gates[i] = e;
      z += e;
    }
    R[o] = mx + Math.log(z);
    for (let c = 0; c < dv; c++) {
      let s = 0;
      for (let i = 0; i < N; i++) s += (gates[i] as number) * (values[i * dv + c] as number);
      R[o + 1 + c] = s / z;
    }
    const e = o + 1 + dv;
    if (kind === 'kv') {
      for (let m = 0; m < dk; m++) R[e + m] = (q[m] as number) * inv;
      return;
    }
    for (let k = 0; k < d; k++) {
      let s = 0;
      for (let m = 0; m < dk; m++) s += (WK.data[k * dk + m] as number) * (q[m] as number);
      a[k] = s * inv;
    }
    if (kind === 'vpt') {
      for (let k = 0; k < d; k++) R[e + k] = a[k] as number;
      return;
    }
    const w1 = (W1 as Mat).data;
    const w2 = (W2 as Mat).data;
    if (lnOut !== null) layerNormInto(xm, undefined, undefined, LN_EPS, lnOut);
    convInto(lnMat === null ? xm : lnMat, cfg.grid, kernel as Mat, cfg.padding, C);
    // M = [a^T C^T; W1 C^T; W_V^T C^T] ((1 + r + dv) x H'W', row-major), C_k = row k of conv(LN(X)).
    for (let k = 0; k < HW; k++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += (C[k * d + c] as number) * (a[c] as number);
      R[o + offCa + k] = s;
      for (let t = 0; t < r; t++) {
        let u = 0;
        for (let c = 0; c < d; c++) u += (w1[t * d + c] as number) * (C[k * d + c] as number);
        R[o + offCW1 + t * HW + k] = u;
      }
      for (let c = 0; c < dv; c++) {
        let u = 0;
        for (let m = 0; m < d; m++) u += (WVt[c * d + m] as number) * (C[k * d + m] as number);
        R[o + offCWV + c * HW + k] = u;
      }
    }
    for (let t = 0; t < r; t++) {
      let s = 0;
      for (let m = 0; m < d; m++) s += (w2[m * r + t] as number) * (a[m] as number);
      R[o + offW2a + t] = s;
    }
  };

  const layout: PreparedLayout = { kind, d, dk, dv, L, atomSize, HW, r, resid, S, nParams };
  const prepare = (samples: Samples): PreparedFamily => {
    const n = samples.n;
    if (samples.X.length !== n * N * d) throw new InputError('samples.X', `n N d = ${n * N * d} values`, String(samples.X.length));
    const R = new Float64Array(n * S);
    for (let i = 0; i < n; i++) prepareRecord(samples.X.subarray(i * N * d, (i + 1) * N * d), R, i * S);
    return new PreparedPromptMixture(layout, R, WV.data, B);
  };

  const toMeasure = (theta: Float64Array): MixingMeasure => {
    if (theta.length !== nParams) throw new InputError('theta', `an array of length ${nParams}`, `length ${theta.length}`);
    return biasedAtomsToMeasure(theta, L, atomSize, blocks);
  };
  const fromMeasure = (g: MixingMeasure): Float64Array => biasedAtomsFromMeasure(g, L, atomSize, blocks);

  const sampleTheta = (rngS: Rng): Float64Array => {
    const theta = new Float64Array(nParams);
    for (let j = 0; j < L; j++) {
      const o = j * atomSize;
      theta[o] = Math.log(N / L);
      for (let k = 1; k < atomSize; k++) theta[o + k] = paramScale * rngS.normal();
    }
    return theta;
  };

  const thetaToMat = (theta: Float64Array, from: number, length: number): Mat => {
    const data = new Float64Array(L * length);
    for (let j = 0; j < L; j++) data.set(theta.subarray(j * atomSize + 1 + from, j * atomSize + 1 + from + length), j * length);
    return { rows: L, cols: length, data };
  };
  const biases = (theta: Float64Array): Float64Array => Float64Array.from({ length: L }, (_, j) => theta[j * atomSize] as number);

  const headPrompt = (theta: Float64Array): HeadPrompt => {
    switch (kind) {
      case 'vpt':
        return { kind: 'vpt', P: thetaToMat(theta, 0, d), mode: 'deep' };
      case 'kv':
        return { kind: 'e2vpt', keys: thetaToMat(theta, 0, dk), values: thetaToMat(theta, dk, dv) };
      case 'vapt': {
        const p: VaptHeadPrompt = {
          kind: 'vapt',
          grid: cfg.grid,
          kernel: kernel as Mat,
          padding: cfg.padding,
          alpha: thetaToMat(theta, 0, HW),
          bias: new Float64Array(L),
          W1: W1 as Mat,
          W2: W2 as Mat,
          residual,
          layerNorm: cfg.layerNorm ? { gamma: new Float64Array(d).fill(1), beta: new Float64Array(d) } : null,
        };
        return p;
      }
    }
  };

  const promptExperts = (theta: Float64Array, X: Mat): PromptExperts => {
    const hp = headPrompt(theta);
    const scoreBias = biases(theta);
    if (hp.kind === 'vapt') return { ...vaptExperts(head, X, hp), scoreBias };
    if (hp.kind === 'vpt') {
      const P = hp.P;
      // keys W_K^T p_j and values W_V^T p_j, as src/prompts/vpt.ts makes them (deep: no extra query rows).
      const k = new Float64Array(L * dk);
      const v = new Float64Array(L * dv);
      for (let j = 0; j < L; j++) {
        project(P.data, j * d, WKt, dk, k, j);
        project(P.data, j * d, WVt, dv, v, j);
      }
      return { keys: { rows: L, cols: dk, data: k }, values: { rows: L, cols: dv, data: v }, scoreBias };
    }
    return { keys: hp.keys as Mat, values: hp.values as Mat, scoreBias };
  };

  const tokensFlops = N * d * (dk + dv) * 2 + d * dk * 2;
  const promptFlops = kind === 'vpt' ? L * d * (dk + dv) * 2 : kind === 'kv' ? 0 : HW * K * K * d * 2 + L * (HW * d * 2 + 2 * r * d * 2 + d * (dk + dv) * 2);
  const jacFlops = kind === 'vapt' ? HW * d * (dv + r + 1) * 2 + L * dv * HW * (r * 4 + 4) : L * dv * (atomSize * 3);
  return {
    name: `${kind} prompt mixture (N=${N}, d=${d}, dk=${dk}, dv=${dv}, L=${L}${isVapt ? `, grid ${cfg.grid[0]}x${cfg.grid[1]}, K=${K}, r=${r}` : ''})`,
    config: cfg,
    kind,
    atoms: L,
    atomSize,
    blocks,
    paramScale,
    inputDim: N * d,
    outputDim: dv,
    nParams,
    pretrained: { head, kernel, W1, W2 },
    predict: forward,
    jacobian,
    prepare,
    toMeasure,
    fromMeasure,
    sampleTheta,
    sampleInputs: (n: number, rngI: Rng) => {
      if (!Number.isInteger(n) || n < 1) throw new InputError('n', 'an integer >= 1', String(n));
      const X = new Float64Array(n * N * d);
      for (let k = 0; k < X.length; k++) X[k] = rngI.normal();
      return X;
    },
    promptExperts,
    headPrompt,
    flopsPerJacobian: tokensFlops + promptFlops + E * (dk * 2 + dv * 2 + 20) + jacFlops,
  };
}

/** Set to '0' to run the prepared VAPT through its loops instead of the unrolled kernels (read at `prepare`). */
export const UNROLL_ENV = 'PROMPT_EXPERTS_UNROLL';

/** Sizes of a prepared prompt mixture (records: [m0, nu0 (dv), kind part], module header). */
interface PreparedLayout {
  readonly kind: PromptMixtureKind;
  readonly d: number;
  readonly dk: number;
  readonly dv: number;
  readonly L: number;
  readonly atomSize: number;
  readonly HW: number;
  readonly r: number;
  /** 1 with the VAPT residual connection, else 0. */
  readonly resid: number;
  /** Floats per sample record. */
  readonly S: number;
  readonly nParams: number;
}

/**
 * The prepared fast path of `promptMixture` (module header): R holds the per-sample theta-free
 * records (S floats each: [m0, nu0 (dv), kind part]; vapt's kind part is [Ca (H'W'), CW1 (r x
 * H'W'), CWV (dv x H'W'), w2a (r)]), W_V (d x dv) and B = W_V^T W2 (dv x r) are pretrained;
 * scratch is allocated once. Samples are evaluated one at a time with the running sums in locals
 * (faster in V8 than sample-major loops, which store every partial sum).
 */
class PreparedPromptMixture implements PreparedFamily {
  readonly flopsPerJacobian: number;
  /** kv: d f / d v_j = g_j I. */
  readonly identityBlocks: ReadonlyArray<number>;
  private readonly th: Float64Array;
  /** nu_j (L x dv) at the current sample (vpt, kv: at the bound theta). */
  private readonly nu: Float64Array;
  private readonly sc: Float64Array;
  /** Prompt gates g_j at the current sample. */
  private readonly gt: Float64Array;
  /** vapt: h_j = W1 G_j (L x r) at the current sample. */
  private readonly h: Float64Array;
  private readonly u: Float64Array;
  private readonly f: Float64Array;
  /** vapt: the masked column weights Q_j (dv x r) of one atom. */
  private readonly Q: Float64Array;
  /** vapt: the unrolled kernels (vapt-unrolled.ts; same bits as forward / jacobianColumns), null where they do not apply. */
  private readonly vJac: VaptKernel | null;
  private readonly vPred: VaptKernel | null;
  /** Whether the unrolled kernels run. */
  readonly unrolled: boolean;

  constructor(
    private readonly lay: PreparedLayout,
    private readonly R: Float64Array,
    private readonly WV: Float64Array,
    private readonly B: Float64Array,
  ) {
    const { kind, d, dk, dv, L, HW, r } = lay;
    this.th = new Float64Array(lay.nParams);
    this.nu = new Float64Array(L * dv);
    this.sc = new Float64Array(L);
    this.gt = new Float64Array(L);
    this.h = new Float64Array(L * r);
    this.u = new Float64Array(dv);
    this.f = new Float64Array(dv);
    this.Q = new Float64Array(dv * r);
    const unroll = kind === 'vapt' && lay.atomSize === 1 + HW && process.env[UNROLL_ENV] !== '0';
    this.vJac = unroll ? vaptKernel(lay, true) : null;
    this.vPred = unroll ? vaptKernel(lay, false) : null;
    this.unrolled = this.vJac !== null && this.vPred !== null;
    this.identityBlocks = kind === 'kv' ? Array.from({ length: L }, (_, j) => j * lay.atomSize + 1 + dk) : [];
    const scoreFlops = kind === 'vpt' ? 2 * d : kind === 'kv' ? 2 * dk : 2 * HW * (1 + r + dv) + 2 * r * (1 + dv);
    const atomJacFlops = kind === 'vpt' ? dv * (2 + 3 * d) : kind === 'kv' ? dv * (2 + dk) : dv * r * 4 + HW * dv * (5 + 2 * r);
    this.flopsPerJacobian = L * (scoreFlops + 2 * dv + 20 + atomJacFlops) + 4 * dv + 20;
  }

  bind(theta: Float64Array): void {
    const { kind, d, dk, dv, L, atomSize, nParams } = this.lay;
    if (theta.length !== nParams) throw new InputError('theta', `an array of length ${nParams}`, `length ${theta.length}`);
    const { th, nu, WV } = this;
    th.set(theta);
    for (let j = 0; j < L; j++) {
      const o = j * atomSize + 1;
      for (let c = 0; c < dv; c++) {
        let s = 0;
        if (kind === 'vpt') for (let k = 0; k < d; k++) s += (WV[k * dv + c] as number) * (th[o + k] as number);
        else if (kind === 'kv') s = th[o + dk + c] as number;
        nu[j * dv + c] = s;
      }
    }
  }

  /** Scores s_j, values nu_j (vapt), gates g_j and the output f (into this.f) of sample i at the bound theta. */
  private forward(i: number): void {
    const { kind, d, dk, dv, L, atomSize, HW, r, resid, S } = this.lay;
    const { R, th, nu, sc, gt, h, f, B } = this;
    const ro = i * S;
    const e0 = ro + 1 + dv;
    const w2o = e0 + HW * (1 + r + dv);
    const m0 = R[ro] as number;
    let mx = m0;
    for (let j = 0; j < L; j++) {
      const o = j * atomSize;
      let s = th[o] as number;
      if (kind === 'vpt') {
        for (let k = 0; k < d; k++) s += (R[e0 + k] as number) * (th[o + 1 + k] as number);
      } else if (kind === 'kv') {
        for (let m = 0; m < dk; m++) s += (R[e0 + m] as number) * (th[o + 1 + m] as number);
      } else {
        // y = M alpha_j: alpha_j . Ca, h_j = alpha_j CW1, alpha_j CWV (rows 0, 1..r, 1+r.. of M)
        const ho = j * r;
        const ao = o + 1;
        let sa = 0;
        for (let k = 0; k < HW; k++) sa += (th[ao + k] as number) * (R[e0 + k] as number);
        s += resid * sa;
        for (let t = 0; t < r; t++) {
          const mo = e0 + (1 + t) * HW;
          let y = 0;
          for (let k = 0; k < HW; k++) y += (th[ao + k] as number) * (R[mo + k] as number);
          h[ho + t] = y;
          if (y > 0) s += (R[w2o + t] as number) * y;
        }
        for (let c = 0; c < dv; c++) {
          const mo = e0 + (1 + r + c) * HW;
          let y = 0;
          for (let k = 0; k < HW; k++) y += (th[ao + k] as number) * (R[mo + k] as number);
          y *= resid;
          for (let t = 0; t < r; t++) {
            const ht = h[ho + t] as number;
            if (ht > 0) y += (B[c * r + t] as number) * ht;
          }
          nu[j * dv + c] = y;
        }
      }
      sc[j] = s;
      if (s > mx) mx = s;
    }
    // softmax over [token aggregate, L prompts] and the output
    const w0 = mx === m0 ? 1 : Math.exp(m0 - mx); // exp(0) = 1 exactly: one exp saved when the tokens lead
    let z = w0;
    for (let c = 0; c < dv; c++) f[c] = w0 * (R[ro + 1 + c] as number);
    for (let j = 0; j < L; j++) {
      const w = Math.exp((sc[j] as number) - mx);
      gt[j] = w;
      z += w;
      for (let c = 0; c < dv; c++) f[c] = (f[c] as number) + w * (nu[j * dv + c] as number);
    }
    const iz = 1 / z;
    for (let c = 0; c < dv; c++) f[c] = (f[c] as number) * iz;
    for (let j = 0; j < L; j++) gt[j] = (gt[j] as number) * iz;
  }

  predictRows(i0: number, count: number, out: Float64Array): void {
    if (this.unrolled) return (this.vPred as VaptKernel)(this.R, this.th, this.B, i0, count, out, null, 0);
    const dv = this.lay.dv;
    const f = this.f;
    for (let t = 0; t < count; t++) {
      this.forward(i0 + t);
      for (let c = 0; c < dv; c++) out[t * dv + c] = f[c] as number;
    }
  }

  jacobianRows(i0: number, count: number, out: Float64Array, jt: Float64Array, stride: number): void {
    if (this.unrolled) return (this.vJac as VaptKernel)(this.R, this.th, this.B, i0, count, out, jt, stride);
    const dv = this.lay.dv;
    const f = this.f;
    for (let t = 0; t < count; t++) {
      this.forward(i0 + t);
      for (let c = 0; c < dv; c++) out[t * dv + c] = f[c] as number;
      this.jacobianColumns(i0 + t, jt, stride, t * dv);
    }
  }

  /** jt[offset + a * stride + c] = d f_c / d theta_a at sample i, after `forward(i)`. */
  private jacobianColumns(i: number, jt: Float64Array, stride: number, offset: number): void {
    const { kind, d, dk, dv, L, atomSize, HW, r, resid, S } = this.lay;
    const { R, nu, gt, h, u, f, Q, WV, B } = this;
    const e0 = i * S + 1 + dv;
    const w2o = e0 + HW * (1 + r + dv);
    for (let j = 0; j < L; j++) {
      const g = gt[j] as number;
      const o = offset + j * atomSize * stride;
      // bias column: u_j = g_j (nu_j - f)
      for (let c = 0; c < dv; c++) {
        const uc = g * ((nu[j * dv + c] as number) - (f[c] as number));
        u[c] = uc;
        jt[o + c] = uc;
      }
      if (kind === 'vpt') {
        for (let k = 0; k < d; k++) {
          const ak = R[e0 + k] as number;
          const base = o + (1 + k) * stride;
          for (let c = 0; c < dv; c++) jt[base + c] = (u[c] as number) * ak + g * (WV[k * dv + c] as number);
        }
      } else if (kind === 'kv') {
        for (let m = 0; m < dk; m++) {
          const wk = R[e0 + m] as number;
          const base = o + (1 + m) * stride;
          for (let c = 0; c < dv; c++) jt[base + c] = (u[c] as number) * wk;
        }
        for (let m = 0; m < dv; m++) {
          const base = o + (1 + dk + m) * stride;
          for (let c = 0; c < dv; c++) jt[base + c] = c === m ? g : 0;
        }
      } else {
        // column k, row c: [res] (u_c Ca_k + g CWV_ck) + sum_t CW1_tk Q_ct,  Q_ct = 1[h_jt > 0] (u_c w2a_t + g B_ct)
        const ho = j * r;
        for (let c = 0; c < dv; c++) {
          const uc = u[c] as number;
          for (let t = 0; t < r; t++) Q[c * r + t] = (h[ho + t] as number) > 0 ? uc * (R[w2o + t] as number) + g * (B[c * r + t] as number) : 0;
        }
        const rg = resid * g;
        for (let k = 0; k < HW; k++) {
          const base = o + (1 + k) * stride;
          const ck = resid * (R[e0 + k] as number);
          const vk = e0 + (1 + r) * HW + k;
          const wk = e0 + HW + k;
          let c = 0;
          // two rows at a time: each CW1_tk load serves both
          for (; c + 1 < dv; c += 2) {
            let v0 = (u[c] as number) * ck + rg * (R[vk + c * HW] as number);
            let v1 = (u[c + 1] as number) * ck + rg * (R[vk + (c + 1) * HW] as number);
            const q0 = c * r;
            const q1 = q0 + r;
            for (let t = 0; t < r; t++) {
              const w = R[wk + t * HW] as number;
              v0 += w * (Q[q0 + t] as number);
              v1 += w * (Q[q1 + t] as number);
            }
            jt[base + c] = v0;
            jt[base + c + 1] = v1;
          }
          if (c < dv) {
            let v = (u[c] as number) * ck + rg * (R[vk + c * HW] as number);
            for (let t = 0; t < r; t++) v += (R[wk + t * HW] as number) * (Q[c * r + t] as number);
            jt[base + c] = v;
          }
        }
      }
    }
  }
}

export interface TruthOptions {
  /** Minimum distance between atoms, in units of paramScale * sqrt(atom dimension) (default 0.5). */
  readonly separation?: number;
  /** Spread of the biases around log(N / L) (uniform, default 0.5). */
  readonly biasSpread?: number;
}

/**
 * A well-separated true measure with the family's L atoms: parameters N(0, paramScale^2) per
 * entry, redrawn (up to 1,000 times) until every pair of atoms is at least `separation` apart
 * (relative to the typical atom norm), biases log(N / L) + U(-spread, spread) so the prompts
 * carry about as much gate mass as the tokens.
 */
export function randomTruth(family: PromptMixtureFamily, rng: Rng, opts: TruthOptions = {}): MixingMeasure {
  const sep = opts.separation ?? 0.5;
  const spread = opts.biasSpread ?? 0.5;
  const L = family.atoms;
  const S = family.atomSize;
  const dim = S - 1;
  const minDist = sep * family.paramScale * Math.sqrt(dim);
  let theta = new Float64Array(family.nParams);
  for (let attempt = 0; attempt < 1000; attempt++) {
    theta = family.sampleTheta(rng);
    let ok = true;
    for (let i = 0; i < L && ok; i++) {
      for (let j = i + 1; j < L && ok; j++) {
        let s = 0;
        for (let k = 1; k < S; k++) s += ((theta[i * S + k] as number) - (theta[j * S + k] as number)) ** 2;
        if (Math.sqrt(s) < minDist) ok = false;
      }
    }
    if (ok) break;
    if (attempt === 999) throw new InputError('separation', `a separation achievable by ${L} random atoms in dimension ${dim}`, String(sep));
  }
  for (let j = 0; j < L; j++) theta[j * S] = Math.log(family.config.tokens / L) + spread * (2 * rng.uniform() - 1);
  return family.toMeasure(theta);
}
