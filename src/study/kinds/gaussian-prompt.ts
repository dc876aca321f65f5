/**
 * VPT and VAPT prompt experts under Gaussian gating (the gate-family control of the
 * vpt-vs-vapt study, docs/theory.md §4). Input X: N tokens in R^d (flattened, N*d). Gate summary
 * z(X) = (1/N) sum_k x_k in R^d; gates proportional to pi_j N(z | c_j, s^2 I) with a known shared
 * covariance s^2 I, i.e. a softmax of
 *   b_j + score(X; c_j),  score(X; c) = -||z(X) - c||^2 / (2 s^2),  b_j = log pi_j
 * (the -||z||^2 term is common to all atoms and cancels in the softmax). Experts, with the
 * pretrained part (W_V, and for VAPT the shared MLP W1, W2) known:
 *   VPT  prompt expert  e(X; p)     = W_V^T p                              (constant in X)
 *   VAPT prompt expert  e(X; alpha) = W_V^T (G + W2 relu(W1 G)),  G = sum_k alpha_k x_k   (nonlinear in X)
 * Jacobians (analytic):
 *   d score / d c          = (z - c) / s^2
 *   d e / d p              = W_V^T
 *   d e / d alpha_k        = W_V^T (I + W2 D W1) x_k,   D = diag(1[W1 G > 0])
 * The mixture is B's softmaxMoe with these custom score and expert families; least squares
 * evaluates it through `prepare` (gaussian-prompt-prepared.ts: the gate summaries computed once
 * per fit, one pass per sample, bit for bit the same values as `predict` / `jacobian`).
 *
 * Canonical form (what makes atom distances meaningful). From (X, Y) alone the gates identify
 * the c_j only up to a common translation: c_j -> c_j + t with b_j -> b_j + c_j . t / s^2 leaves
 * every gate unchanged (the z . t / s^2 and |t|^2 terms are common to all atoms), and the b_j up
 * to a common shift. `toMeasure` therefore reports the unique equivalent measure with
 *   pi_j = exp(b_j) / sum_l exp(b_l)   and   sum_j pi_j c_j = 0,
 * the moment condition the joint Gaussian-gated model would impose (the gate mixture's mean is
 * E[z] = 0). The translation t solves s^2 grad F(t) + t = 0 with F(t) = log sum_j exp(b_j + c_j . t / s^2),
 * i.e. minimises the strictly convex s^2 F(t) + |t|^2 / 2; Newton's method from t = 0.
 * The true measure is put in the same form (prompt-mixture.ts), so losses compare like with like.
 */
import type { MixingMeasure } from '../../mixture/measure.js';
import type { PreparedFamily, RegressionFamily, Samples } from '../../mixture/family.js';
import type { ScoreFamily } from '../../mixture/gates/score.js';
import type { ExpertFamily } from '../../mixture/experts/expert.js';
import { softmaxMoe } from '../../mixture/softmax-moe.js';
import { softmaxInto } from '../../linalg/mat.js';
import { prepareGaussianPrompt } from './gaussian-prompt-prepared.js';

export interface GaussianPromptConfig {
  readonly prompt: 'vpt' | 'vapt';
  readonly N: number;
  readonly d: number;
  readonly L: number;
  /** Gate standard deviation s (Gamma = s^2 I). */
  readonly gateSd: number;
  /** d x d, row-major: W_V. */
  readonly WV: Float64Array;
  /** r x d (VAPT). */
  readonly W1: Float64Array;
  /** d x r (VAPT). */
  readonly W2: Float64Array;
  readonly r: number;
}

function gaussianScore(N: number, d: number, s: number): ScoreFamily {
  const inv = 1 / (s * s);
  const z = new Float64Array(d);
  const summary = (x: Float64Array): void => {
    z.fill(0);
    for (let k = 0; k < N; k++) for (let a = 0; a < d; a++) z[a] = (z[a] as number) + (x[k * d + a] as number) / N;
  };
  return {
    kind: 'gaussian',
    inputDim: N * d,
    blocks: [{ name: 'c', size: d }],
    nParams: d,
    value(p, off, x) {
      summary(x);
      let q = 0;
      for (let a = 0; a < d; a++) q += ((z[a] as number) - (p[off + a] as number)) ** 2;
      return -0.5 * inv * q;
    },
    gradParams(p, off, x, g, goff) {
      summary(x);
      let q = 0;
      for (let a = 0; a < d; a++) {
        const diff = (z[a] as number) - (p[off + a] as number);
        q += diff * diff;
        g[goff + a] = inv * diff;
      }
      return -0.5 * inv * q;
    },
    gradInput(p, off, x, g) {
      summary(x);
      let q = 0;
      for (let a = 0; a < d; a++) {
        const diff = (z[a] as number) - (p[off + a] as number);
        q += diff * diff;
        for (let k = 0; k < N; k++) g[k * d + a] = (-inv * diff) / N;
      }
      return -0.5 * inv * q;
    },
  };
}

/** e = W_V^T v for v in R^d: out[r] = sum_a WV[a*d + r] v[a]. */
function applyWVT(WV: Float64Array, d: number, v: Float64Array, out: Float64Array, ooff: number): void {
  for (let r = 0; r < d; r++) {
    let s = 0;
    for (let a = 0; a < d; a++) s += (WV[a * d + r] as number) * (v[a] as number);
    out[ooff + r] = s;
  }
}

function vptExpert(N: number, d: number, WV: Float64Array): ExpertFamily {
  const p = new Float64Array(d);
  return {
    kind: 'vpt',
    inputDim: N * d,
    outputDim: d,
    blocks: [{ name: 'p', size: d }],
    nParams: d,
    value(theta, off, _x, out, ooff) {
      for (let a = 0; a < d; a++) p[a] = theta[off + a] as number;
      applyWVT(WV, d, p, out, ooff);
    },
    jacobian(theta, off, _x, out, ooff, jac, stride, joff) {
      for (let a = 0; a < d; a++) p[a] = theta[off + a] as number;
      applyWVT(WV, d, p, out, ooff);
      for (let r = 0; r < d; r++) for (let a = 0; a < d; a++) jac[r * stride + joff + a] = WV[a * d + r] as number;
    },
    jacobianInput(_t, _o, _x, jac) {
      jac.fill(0, 0, d * N * d);
    },
  };
}

function vaptExpert(N: number, d: number, WV: Float64Array, W1: Float64Array, W2: Float64Array, r: number): ExpertFamily {
  const G = new Float64Array(d);
  const h = new Float64Array(r);
  const P = new Float64Array(d);
  const M = new Float64Array(d * d); // W_V^T (I + W2 D W1), d x d
  const B = new Float64Array(d * d); // I + W2 D W1
  const forward = (theta: Float64Array, off: number, x: Float64Array): void => {
    G.fill(0);
    for (let k = 0; k < N; k++) {
      const ak = theta[off + k] as number;
      for (let a = 0; a < d; a++) G[a] = (G[a] as number) + ak * (x[k * d + a] as number);
    }
    for (let i = 0; i < r; i++) {
      let s = 0;
      for (let a = 0; a < d; a++) s += (W1[i * d + a] as number) * (G[a] as number);
      h[i] = s;
    }
    for (let a = 0; a < d; a++) {
      let s = G[a] as number;
      for (let i = 0; i < r; i++) if ((h[i] as number) > 0) s += (W2[a * r + i] as number) * (h[i] as number);
      P[a] = s;
    }
  };
  const buildM = (): void => {
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) {
        let s = a === b ? 1 : 0;
        for (let i = 0; i < r; i++) if ((h[i] as number) > 0) s += (W2[a * r + i] as number) * (W1[i * d + b] as number);
        B[a * d + b] = s;
      }
    for (let q = 0; q < d; q++)
      for (let b = 0; b < d; b++) {
        let s = 0;
        for (let a = 0; a < d; a++) s += (WV[a * d + q] as number) * (B[a * d + b] as number);
        M[q * d + b] = s;
      }
  };
  return {
    kind: 'vapt',
    inputDim: N * d,
    outputDim: d,
    blocks: [{ name: 'alpha', size: N }],
    nParams: N,
    value(theta, off, x, out, ooff) {
      forward(theta, off, x);
      applyWVT(WV, d, P, out, ooff);
    },
    jacobian(theta, off, x, out, ooff, jac, stride, joff) {
      forward(theta, off, x);
      applyWVT(WV, d, P, out, ooff);
      buildM();
      for (let q = 0; q < d; q++)
        for (let k = 0; k < N; k++) {
          let s = 0;
          for (let b = 0; b < d; b++) s += (M[q * d + b] as number) * (x[k * d + b] as number);
          jac[q * stride + joff + k] = s;
        }
    },
    jacobianInput(theta, off, x, jac) {
      forward(theta, off, x);
      buildM();
      for (let q = 0; q < d; q++) for (let k = 0; k < N; k++) for (let b = 0; b < d; b++) jac[q * N * d + k * d + b] = (M[q * d + b] as number) * (theta[off + k] as number);
    },
  };
}

/** The canonical form of a Gaussian-gated measure (see the header): weights summing to 1, sum_j pi_j c_j = 0. */
export function canonicalGaussianGates(g: MixingMeasure, s: number, d: number): MixingMeasure {
  const L = g.atoms.length;
  const inv = 1 / (s * s);
  // A fit whose bias ran off to +-infinity (weight exp(b) overflowed to Infinity or 0) keeps the
  // largest / smallest finite log-weight, so its measure stays finite and the escape is reported.
  const b = g.atoms.map((a) => Math.min(709, Math.max(-745, Math.log(a.weight ?? 1))));
  const c = g.atoms.map((a) => a.params.c ?? new Float64Array(d));
  const t = new Float64Array(d);
  const pi = new Float64Array(L);
  const weights = (): void => {
    for (let j = 0; j < L; j++) {
      let v = b[j] as number;
      for (let a = 0; a < d; a++) v += (c[j]?.[a] ?? 0) * (t[a] as number) * inv;
      pi[j] = v;
    }
    softmaxInto(pi, pi);
  };
  for (let it = 0; it < 100; it++) {
    weights();
    // gradient r = sum pi_j c_j + t; Hessian H = I + Cov_pi(c) / s^2 (positive definite).
    const m = new Float64Array(d);
    for (let j = 0; j < L; j++) for (let a = 0; a < d; a++) m[a] = (m[a] as number) + (pi[j] as number) * (c[j]?.[a] ?? 0);
    const r = Float64Array.from(m, (v, a) => v + (t[a] as number));
    let norm = 0;
    for (let a = 0; a < d; a++) norm = Math.max(norm, Math.abs(r[a] as number));
    if (norm < 1e-13) break;
    const H = new Float64Array(d * d);
    for (let a = 0; a < d; a++) H[a * d + a] = 1;
    for (let j = 0; j < L; j++)
      for (let a = 0; a < d; a++)
        for (let e = 0; e < d; e++) H[a * d + e] = (H[a * d + e] as number) + ((pi[j] as number) * ((c[j]?.[a] ?? 0) - (m[a] as number)) * ((c[j]?.[e] ?? 0) - (m[e] as number))) * inv;
    // Solve H delta = r by Gaussian elimination (d is small), then t -= delta.
    const A = Float64Array.from(H);
    const x = Float64Array.from(r);
    for (let col = 0; col < d; col++) {
      let piv = col;
      for (let row = col + 1; row < d; row++) if (Math.abs(A[row * d + col] as number) > Math.abs(A[piv * d + col] as number)) piv = row;
      for (let e = 0; e < d; e++) [A[col * d + e], A[piv * d + e]] = [A[piv * d + e] as number, A[col * d + e] as number];
      [x[col], x[piv]] = [x[piv] as number, x[col] as number];
      for (let row = col + 1; row < d; row++) {
        const f = (A[row * d + col] as number) / (A[col * d + col] as number);
        for (let e = col; e < d; e++) A[row * d + e] = (A[row * d + e] as number) - f * (A[col * d + e] as number);
        x[row] = (x[row] as number) - f * (x[col] as number);
      }
    }
    for (let row = d - 1; row >= 0; row--) {
      let v = x[row] as number;
      for (let e = row + 1; e < d; e++) v -= (A[row * d + e] as number) * (x[e] as number);
      x[row] = v / (A[row * d + row] as number);
    }
    for (let a = 0; a < d; a++) t[a] = (t[a] as number) - (x[a] as number);
  }
  // Newton cannot fail on finite gates (H is positive definite); on gate means that overflowed, fall back to no translation.
  if (!t.every(Number.isFinite)) t.fill(0);
  weights();
  return {
    atoms: g.atoms.map((a, j) => ({
      weight: pi[j] as number,
      params: { ...a.params, c: Float64Array.from(c[j] ?? new Float64Array(d), (v, k) => v + (t[k] as number)) },
    })),
  };
}

/** The Gaussian-gated prompt mixture family: theta atom by atom [b_j, c_j, p_j | alpha_j] (atomSize entries each). */
export interface GaussianPromptFamily extends RegressionFamily {
  readonly atoms: number;
  readonly atomSize: number;
  prepare(samples: Samples): PreparedFamily;
}

/**
 * The Gaussian-gated prompt mixture as a regression family (`toMeasure` gives the canonical
 * form), with the prepared least-squares path of gaussian-prompt-prepared.ts.
 */
export function gaussianPromptFamily(cfg: GaussianPromptConfig): GaussianPromptFamily {
  const score = gaussianScore(cfg.N, cfg.d, cfg.gateSd);
  const expert = cfg.prompt === 'vpt' ? vptExpert(cfg.N, cfg.d, cfg.WV) : vaptExpert(cfg.N, cfg.d, cfg.WV, cfg.W1, cfg.W2, cfg.r);
  const fam = softmaxMoe({ atoms: cfg.L, inputDim: cfg.N * cfg.d, outputDim: cfg.d, gate: { kind: 'custom', score }, expert: { kind: 'custom', expert } });
  return {
    name: `gaussian-gated ${cfg.prompt} prompt mixture (L=${cfg.L}, N=${cfg.N}, d=${cfg.d})`,
    atoms: cfg.L,
    atomSize: fam.nParams / cfg.L,
    inputDim: fam.inputDim,
    outputDim: fam.outputDim,
    nParams: fam.nParams,
    predict: (t, x, o) => fam.predict(t, x, o),
    jacobian: (t, x, o, j) => fam.jacobian(t, x, o, j),
    toMeasure: (theta): MixingMeasure => canonicalGaussianGates(fam.toMeasure(theta), cfg.gateSd, cfg.d),
    fromMeasure: (g) => fam.fromMeasure(g),
    prepare: (samples) => prepareGaussianPrompt({ prompt: cfg.prompt, N: cfg.N, d: cfg.d, L: cfg.L, inv: 1 / (cfg.gateSd * cfg.gateSd), WV: cfg.WV, W1: cfg.W1, W2: cfg.W2, r: cfg.r }, samples),
  };
}
