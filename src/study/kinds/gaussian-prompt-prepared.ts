/**
 * The prepared fast path (`RegressionFamily.prepare`, src/mixture/family.ts) of the Gaussian-gated
 * VPT / VAPT prompt mixture of gaussian-prompt.ts. theta, atom by atom: [b_j, c_j (d), p_j (d) | alpha_j (N)].
 *
 * Once per fit (theta-free): the gate summary z(X) = (1/N) sum_k x_k of every sample (n x d);
 * VAPT keeps a view of the token matrices and caches, per ReLU pattern D (2^r at most),
 *   M_D = W_V^T (I + W2 D W1)   (d x d),
 * so the d^2 r + d^3 rebuild of M per atom and sample becomes a lookup.
 * Once per theta (`bind`): VPT's expert outputs e_j = W_V^T p_j (constant in X).
 * Per sample, one pass over the L atoms: scores s_j = b_j - ||z - c_j||^2 / (2 s^2), the softmax
 * g, (VAPT: G_j = sum_k alpha_jk x_k, h_j = W1 G_j, e_j = W_V^T (G_j + W2 relu(h_j))), the output
 * f = sum_j g_j e_j and every Jacobian column, written into the transposed block:
 *   d f / d b_j       = u_j = g_j (e_j - f)
 *   d f / d c_j       = u_j (z - c_j)^T / s^2
 *   d f / d p_j       = g_j W_V^T                (VPT)
 *   d f / d alpha_jk  = g_j M_{D_j} x_k          (VAPT, D_j = diag(1[h_j > 0]))
 * No column is an identity block: d f / d p_j = g_j W_V^T is g_j I only when W_V = I, and the
 * VAPT columns depend on X.
 *
 * Every quantity is computed with the same operations in the same order as the plain
 * `predict` / `jacobian` (softmaxMoe over gaussianScore and the prompt experts), so the prepared
 * path reproduces them bit for bit and a least-squares fit takes the same iterates either way.
 * Memory: n d floats (z), plus VAPT's view of X and 2^r d^2 floats of cached M_D.
 */
import { InputError } from '../../util/errors.js';
import type { PreparedFamily, Samples } from '../../mixture/family.js';
import { softmaxInPlace } from '../../mixture/gates/softmax.js';

/** What the prepared path needs of a Gaussian-gated prompt mixture. */
export interface GaussianPromptShape {
  readonly prompt: 'vpt' | 'vapt';
  readonly N: number;
  readonly d: number;
  readonly L: number;
  /** 1 / s^2, computed as the score family computes it. */
  readonly inv: number;
  /** d x d, row-major. */
  readonly WV: Float64Array;
  /** r x d (VAPT). */
  readonly W1: Float64Array;
  /** d x r (VAPT). */
  readonly W2: Float64Array;
  readonly r: number;
}

/** Largest ReLU width whose 2^r patterns get a cached M_D (larger r: M_D rebuilt per use). */
const MAX_CACHED_RANK = 12;

export function prepareGaussianPrompt(shape: GaussianPromptShape, samples: Samples): PreparedFamily {
  const { N, d } = shape;
  const n = samples.n;
  if (samples.X.length !== n * N * d) throw new InputError('samples.X', `n N d = ${n * N * d} values`, String(samples.X.length));
  // z(X_i), summed as gaussianScore's `summary` does (k outer, a inner, each term divided by N).
  const Z = new Float64Array(n * d);
  const X = samples.X;
  for (let i = 0; i < n; i++) {
    const xo = i * N * d;
    const zo = i * d;
    for (let k = 0; k < N; k++) for (let a = 0; a < d; a++) Z[zo + a] = (Z[zo + a] as number) + (X[xo + k * d + a] as number) / N;
  }
  return new PreparedGaussianPrompt(shape, Z, X);
}

class PreparedGaussianPrompt implements PreparedFamily {
  readonly flopsPerJacobian: number;
  readonly identityBlocks: ReadonlyArray<number> = [];
  private readonly vapt: boolean;
  /** Parameters per atom, and per atom's expert (d or N). */
  private readonly S: number;
  private readonly pe: number;
  private readonly nParams: number;
  private readonly th: Float64Array;
  /** Logits, then gates g_j, at the current sample. */
  private readonly gt: Float64Array;
  /** e_j (L x d): VPT at the bound theta, VAPT at the current sample. */
  private readonly E: Float64Array;
  /** (z - c_j) / s^2 (L x d) at the current sample. */
  private readonly sg: Float64Array;
  private readonly f: Float64Array;
  /** VAPT scratch: G_j, h_j, G_j + W2 relu(h_j), the pattern index of each atom, M_D cache. */
  private readonly G: Float64Array;
  private readonly h: Float64Array;
  private readonly Pv: Float64Array;
  private readonly pattern: Int32Array;
  private readonly Mc: Float64Array;
  private readonly Mready: Uint8Array;
  private readonly Bs: Float64Array;
  /** VAPT without the cache: h_j of every atom (L x r) and one activation mask. */
  private readonly hAll: Float64Array;
  private readonly act: Uint8Array;
  private readonly cached: boolean;

  constructor(
    private readonly shape: GaussianPromptShape,
    private readonly Z: Float64Array,
    private readonly X: Float64Array,
  ) {
    const { prompt, N, d, L, r } = shape;
    this.vapt = prompt === 'vapt';
    this.pe = this.vapt ? N : d;
    this.S = 1 + d + this.pe;
    this.nParams = L * this.S;
    this.th = new Float64Array(this.nParams);
    this.gt = new Float64Array(L);
    this.E = new Float64Array(L * d);
    this.sg = new Float64Array(L * d);
    this.f = new Float64Array(d);
    this.G = new Float64Array(d);
    this.h = new Float64Array(r);
    this.Pv = new Float64Array(d);
    this.pattern = new Int32Array(L);
    this.cached = this.vapt && r <= MAX_CACHED_RANK;
    const slots = this.cached ? 2 ** r : 1;
    this.Mc = new Float64Array(this.vapt ? slots * d * d : 0);
    this.Mready = new Uint8Array(slots);
    this.Bs = new Float64Array(this.vapt ? d * d : 0);
    this.hAll = new Float64Array(this.vapt && !this.cached ? L * r : 0);
    this.act = new Uint8Array(r);
    const atomFlops = 3 * d + 20 + 4 * d + d * d + (this.vapt ? 2 * N * d + 4 * r * d + 2 * d * d + 2 * N * d * d + N * d : d * d);
    this.flopsPerJacobian = L * atomFlops + 10;
  }

  bind(theta: Float64Array): void {
    const { d, L, WV } = this.shape;
    if (theta.length !== this.nParams) throw new InputError('theta', `an array of length ${this.nParams}`, `length ${theta.length}`);
    const { th, E, S } = this;
    th.set(theta);
    if (this.vapt) return;
    // e_j = W_V^T p_j: out[r] = sum_a WV[a d + r] p_a (as the VPT expert's applyWVT).
    for (let j = 0; j < L; j++) {
      const po = j * S + 1 + d;
      for (let r = 0; r < d; r++) {
        let s = 0;
        for (let a = 0; a < d; a++) s += (WV[a * d + r] as number) * (th[po + a] as number);
        E[j * d + r] = s;
      }
    }
  }

  /** M_D = W_V^T (I + W2 D W1) (as the VAPT expert's buildM), D = diag(act), at offset `mo` of the cache. */
  private buildM(act: Uint8Array, mo: number): void {
    const { d, r, WV, W1, W2 } = this.shape;
    const { Bs, Mc } = this;
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) {
        let s = a === b ? 1 : 0;
        for (let i = 0; i < r; i++) if (act[i] === 1) s += (W2[a * r + i] as number) * (W1[i * d + b] as number);
        Bs[a * d + b] = s;
      }
    for (let q = 0; q < d; q++)
      for (let b = 0; b < d; b++) {
        let s = 0;
        for (let a = 0; a < d; a++) s += (WV[a * d + q] as number) * (Bs[a * d + b] as number);
        Mc[mo + q * d + b] = s;
      }
  }

  /** Offset of M_{D_j} for atom j at the current sample (cached per pattern, built on first use). */
  private mOffset(j: number): number {
    const { d, r } = this.shape;
    const { act, hAll } = this;
    if (!this.cached) {
      for (let t = 0; t < r; t++) act[t] = (hAll[j * r + t] as number) > 0 ? 1 : 0;
      this.buildM(act, 0);
      return 0;
    }
    const pat = this.pattern[j] as number;
    const mo = pat * d * d;
    if (this.Mready[pat] === 0) {
      for (let t = 0; t < r; t++) act[t] = (pat >> t) & 1;
      this.buildM(act, mo);
      this.Mready[pat] = 1;
    }
    return mo;
  }

  /** Gates (into gt), experts (VAPT, into E), score gradients (into sg) and the output f of sample i. */
  private forward(i: number): void {
    const { N, d, L, inv, WV, W1, W2, r } = this.shape;
    const { th, gt, E, sg, f, Z, X, S, vapt, G, h, Pv, pattern, cached, hAll } = this;
    const zo = i * d;
    for (let j = 0; j < L; j++) {
      const o = j * S;
      let qq = 0;
      for (let a = 0; a < d; a++) {
        const diff = (Z[zo + a] as number) - (th[o + 1 + a] as number);
        qq += diff * diff;
        sg[j * d + a] = inv * diff;
      }
      const score = -0.5 * inv * qq;
      gt[j] = (th[o] as number) + score;
      if (!vapt) continue;
      // G = sum_k alpha_k x_k, h = W1 G, P = G + W2 relu(h), e = W_V^T P (as the VAPT expert's forward).
      const ao = o + 1 + d;
      const xo = i * N * d;
      G.fill(0);
      for (let k = 0; k < N; k++) {
        const ak = th[ao + k] as number;
        for (let a = 0; a < d; a++) G[a] = (G[a] as number) + ak * (X[xo + k * d + a] as number);
      }
      let pat = 0;
      for (let t = 0; t < r; t++) {
        let s = 0;
        for (let a = 0; a < d; a++) s += (W1[t * d + a] as number) * (G[a] as number);
        h[t] = s;
        if (cached) {
          if (s > 0) pat |= 1 << t;
        } else hAll[j * r + t] = s;
      }
      pattern[j] = pat;
      for (let a = 0; a < d; a++) {
        let s = G[a] as number;
        for (let t = 0; t < r; t++) if ((h[t] as number) > 0) s += (W2[a * r + t] as number) * (h[t] as number);
        Pv[a] = s;
      }
      for (let c = 0; c < d; c++) {
        let s = 0;
        for (let a = 0; a < d; a++) s += (WV[a * d + c] as number) * (Pv[a] as number);
        E[j * d + c] = s;
      }
    }
    // gates, then f = sum_j g_j e_j
    softmaxInPlace(gt, L);
    for (let c = 0; c < d; c++) {
      let s = 0;
      for (let j = 0; j < L; j++) s += (gt[j] as number) * (E[j * d + c] as number);
      f[c] = s;
    }
  }

  predictRows(i0: number, count: number, out: Float64Array): void {
    const d = this.shape.d;
    const f = this.f;
    for (let t = 0; t < count; t++) {
      this.forward(i0 + t);
      for (let c = 0; c < d; c++) out[t * d + c] = f[c] as number;
    }
  }

  jacobianRows(i0: number, count: number, out: Float64Array, jt: Float64Array, stride: number): void {
    const d = this.shape.d;
    const f = this.f;
    for (let t = 0; t < count; t++) {
      this.forward(i0 + t);
      for (let c = 0; c < d; c++) out[t * d + c] = f[c] as number;
      this.columns(i0 + t, jt, stride, t * d);
    }
  }

  /** jt[offset + a * stride + c] = d f_c / d theta_a at sample i, after `forward(i)`. */
  private columns(i: number, jt: Float64Array, stride: number, offset: number): void {
    const { N, d, L, WV } = this.shape;
    const { gt, E, sg, f, S, vapt, X, Mc } = this;
    const xo = i * N * d;
    for (let j = 0; j < L; j++) {
      const g = gt[j] as number;
      const o = offset + j * S * stride;
      for (let c = 0; c < d; c++) {
        const u = g * ((E[j * d + c] as number) - (f[c] as number));
        jt[o + c] = u;
        for (let a = 0; a < d; a++) jt[o + (1 + a) * stride + c] = u * (sg[j * d + a] as number);
      }
      const eo = o + (1 + d) * stride;
      if (!vapt) {
        for (let a = 0; a < d; a++) {
          const base = eo + a * stride;
          for (let c = 0; c < d; c++) jt[base + c] = g * (WV[a * d + c] as number);
        }
        continue;
      }
      const mo = this.mOffset(j);
      for (let k = 0; k < N; k++) {
        const base = eo + k * stride;
        const xk = xo + k * d;
        for (let c = 0; c < d; c++) {
          let s = 0;
          for (let b = 0; b < d; b++) s += (Mc[mo + c * d + b] as number) * (X[xk + b] as number);
          jt[base + c] = g * s;
        }
      }
    }
  }
}
