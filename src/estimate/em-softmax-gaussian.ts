/**
 * EM for softmax-gated Gaussian mixtures of experts (conditional likelihood of y given x):
 *
 *   p(y | x) = sum_k g_k(x) N(y | a_k^T x + b_k, nu_k),  g = softmax(beta0 + beta^T x).
 *
 * E step: r_ik = g_k(x_i) N(y_i | a_k^T x_i + b_k, nu_k) / sum_l (same for l).
 * M step, experts (closed form): (a_k, b_k) by weighted least squares of y on z = [x, 1] with
 * weights r_.k; nu_k = weighted residual sum of squares / sum_i r_ik.
 * M step, gates (no closed form): maximise the soft multinomial-logit objective
 *
 *   Q(theta) = (1/n) sum_i sum_k r_ik log g_k(x_i; theta),   theta = (beta0_k, beta_k)_{k < K}
 *
 * with the last component anchored at 0 (softmax is translation invariant), by Newton / IRLS:
 *   grad_j    = (1/n) sum_i (r_ij - g_ij) z_i,                      z_i = [1, x_i]
 *   Hess_{jl} = -(1/n) sum_i g_ij (delta_jl - g_il) z_i z_i^T,
 *   theta <- theta + t (-Hess + ridge I)^{-1} grad, t halved until Q increases.
 * Q increasing at every M step makes this a generalised EM, so the log-likelihood does not
 * decrease (checked in the tests). The stopping rule is the same as em-gaussian-gated.ts: the
 * largest absolute parameter change against a separate copy of the previous iterate.
 */
import { solveSpdFlat } from '../linalg/solve.js';
import { softmaxInto } from '../linalg/mat.js';
import { InputError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import type { Samples } from '../mixture/family.js';
import {
  type SoftmaxGaussianParams,
  anchorLast,
  cloneSoftmaxGaussian,
  softmaxGaussianFromMeasure,
  softmaxGaussianToMeasure,
  validateSoftmaxGaussian,
} from '../mixture/softmax-gaussian.js';
import { randomCoverAssignment } from './em-gaussian-gated.js';
import type { Estimator, FitDiagnostics, FitResult, Init } from './estimator.js';
import type { MixingMeasure } from '../mixture/measure.js';

export interface SoftmaxGaussianFamily {
  readonly kind: 'softmax-gaussian';
  readonly d: number;
  readonly k: number;
}

/**
 * Starts: `near` / `random` (estimator.ts), a given parameter set, or `near-experts`, the start of
 * the meteorits / NMoE code of arXiv 2305.03288 and 2510.12744 ("favourable"): the experts at the
 * truth expanded to k atoms plus `expertScale` N(0, 1) on every slope and intercept, the
 * variances at `nuStart[j]` (default the true nu_j) plus |`nuScale` N(0, 1)|, and the gates
 * fitted by Newton / IRLS to labels drawn uniformly from the k components (so they start near 0,
 * whatever the true gates).
 */
export type SoftmaxGaussianInit =
  | Init
  | { readonly kind: 'given'; readonly params: SoftmaxGaussianParams }
  | {
      readonly kind: 'near-experts';
      readonly truth: MixingMeasure;
      readonly expertScale: number;
      /** Starting variance per true component (default the true variances). */
      readonly nuStart?: ReadonlyArray<number>;
      readonly nuScale: number;
    };

/** Newton steps for the random-label gate start (the official IRLS allows 300), and its gradient tolerance (above the rounding floor). */
const LABEL_GATE_STEPS = 300;
const LABEL_GATE_GRAD_TOL = 1e-9;

export interface EmSoftmaxGaussianOptions {
  readonly rng: Rng;
  readonly init: SoftmaxGaussianInit;
  /** Largest absolute parameter change that counts as converged (default 1e-5), or with stopRule 'loglik' the relative change of the log-likelihood. */
  readonly tolerance?: number;
  /**
   * 'parameters' (default): stop when the largest parameter change is below `tolerance`;
   * 'loglik': when |l_t - l_{t-1}| / |l_{t-1}| <= tolerance (the meteorits / NMoE codes' rule,
   * which in over-specified fits stops far earlier, on a flat likelihood).
   */
  readonly stopRule?: 'parameters' | 'loglik';
  /** Default 2000. */
  readonly maxIterations?: number;
  readonly starts?: number;
  /** Newton steps on the gate per M step (default 3). */
  readonly newtonSteps?: number;
  /** End an M step's Newton steps once a step changes the gate objective by at most this times its size (default 0: run all `newtonSteps`). */
  readonly newtonTolerance?: number;
  /** Smallest allowed expert variance (default 1e-10). */
  readonly varianceFloor?: number;
  readonly trace?: boolean;
}

export interface EmSoftmaxDiagnostics extends FitDiagnostics {
  readonly logLikelihood: number;
  readonly lastChange: number;
  readonly floorHits: number;
  readonly trace?: number[];
}

export interface EmSoftmaxGaussianResult extends FitResult {
  readonly params: SoftmaxGaussianParams;
  readonly diagnostics: EmSoftmaxDiagnostics;
}

/** Length of the anchored gate parameter vector: (k - 1)(d + 1). */
export function gatingParamCount(d: number, k: number): number {
  return (k - 1) * (d + 1);
}

/** Gate probabilities of row i under the anchored theta into g. */
function gatesAt(theta: Float64Array, X: Float64Array, i: number, d: number, k: number, g: Float64Array): void {
  for (let j = 0; j < k - 1; j++) {
    const o = j * (d + 1);
    let s = theta[o] as number;
    for (let t = 0; t < d; t++) s += (theta[o + 1 + t] as number) * (X[i * d + t] as number);
    g[j] = s;
  }
  g[k - 1] = 0; // anchored last logit
  softmaxInto(g.subarray(0, k), g);
}

/** Q(theta) = (1/n) sum_i sum_k R_ik log g_k(x_i; theta) (R is n x k, rows summing to 1). */
export function gatingObjective(theta: Float64Array, X: Float64Array, R: Float64Array, n: number, d: number, k: number): number {
  const g = new Float64Array(k);
  let q = 0;
  for (let i = 0; i < n; i++) {
    gatesAt(theta, X, i, d, k, g);
    for (let j = 0; j < k; j++) {
      const r = R[i * k + j] as number;
      if (r > 0) q += r * Math.log(g[j] as number);
    }
  }
  return q / n;
}

/** Analytic gradient of `gatingObjective` into out (length (k-1)(d+1)). */
export function gatingGradient(theta: Float64Array, X: Float64Array, R: Float64Array, n: number, d: number, k: number, out: Float64Array): void {
  const g = new Float64Array(k);
  out.fill(0);
  for (let i = 0; i < n; i++) {
    gatesAt(theta, X, i, d, k, g);
    for (let j = 0; j < k - 1; j++) {
      const e = (R[i * k + j] as number) - (g[j] as number);
      const o = j * (d + 1);
      out[o] = (out[o] as number) + e;
      for (let t = 0; t < d; t++) out[o + 1 + t] = (out[o + 1 + t] as number) + e * (X[i * d + t] as number);
    }
  }
  for (let p = 0; p < out.length; p++) out[p] = (out[p] as number) / n;
}

/** Negative Hessian of `gatingObjective` (positive semi-definite), m x m row-major, m = (k-1)(d+1). */
export function gatingNegHessian(theta: Float64Array, X: Float64Array, n: number, d: number, k: number, out: Float64Array): void {
  const g = new Float64Array(k);
  const m = (k - 1) * (d + 1);
  const z = new Float64Array(d + 1);
  out.fill(0);
  for (let i = 0; i < n; i++) {
    gatesAt(theta, X, i, d, k, g);
    z[0] = 1;
    for (let t = 0; t < d; t++) z[1 + t] = X[i * d + t] as number;
    for (let j = 0; j < k - 1; j++) {
      for (let l = 0; l < k - 1; l++) {
        // g_j (delta_jl - g_l) z_a z_b, written so that entries (r, c) and (c, r) are computed
        // from the same products in the same order: the matrix is exactly symmetric.
        const w = j === l ? (g[j] as number) * (1 - (g[l] as number)) : -((g[j] as number) * (g[l] as number));
        if (w === 0) continue;
        for (let a = 0; a <= d; a++) {
          const row = (j * (d + 1) + a) * m + l * (d + 1);
          for (let b = 0; b <= d; b++) out[row + b] = (out[row + b] as number) + w * ((z[a] as number) * (z[b] as number));
        }
      }
    }
  }
  for (let p = 0; p < out.length; p++) out[p] = (out[p] as number) / n;
}

const solveSpd = solveSpdFlat;

/**
 * A few damped Newton steps on Q from theta (in place); returns the number of accepted steps.
 * Stops early when the largest gradient entry is below `gradTol` (the summed gradient has a
 * rounding floor near 1e-11 at n = 10^5, so a tolerance below it runs every step), or when an
 * accepted step changed Q by at most `relTol` |Q| (0: never; the published codes' IRLS runs to
 * a relative change of 1e-7).
 */
export function newtonGatingSteps(theta: Float64Array, X: Float64Array, R: Float64Array, n: number, d: number, k: number, steps: number, gradTol = 1e-12, relTol = 0): number {
  const m = (k - 1) * (d + 1);
  if (m === 0) return 0;
  const grad = new Float64Array(m);
  const H = new Float64Array(m * m);
  const trial = new Float64Array(m);
  let q = gatingObjective(theta, X, R, n, d, k);
  let accepted = 0;
  for (let s = 0; s < steps; s++) {
    gatingGradient(theta, X, R, n, d, k, grad);
    let gmax = 0;
    for (let p = 0; p < m; p++) gmax = Math.max(gmax, Math.abs(grad[p] as number));
    if (gmax < gradTol) break;
    gatingNegHessian(theta, X, n, d, k, H);
    let tr = 0;
    for (let p = 0; p < m; p++) tr += H[p * m + p] as number;
    for (let p = 0; p < m; p++) H[p * m + p] = (H[p * m + p] as number) + 1e-8 * (tr / m + 1e-12);
    const step = solveSpd(H, grad, m) ?? Float64Array.from(grad);
    let t = 1;
    // true: accepted; null: accepted, and Q changed by at most relTol |Q| (stop); false: no step found.
    let ok: boolean | null = false;
    for (let h = 0; h < 30; h++) {
      for (let p = 0; p < m; p++) trial[p] = (theta[p] as number) + t * (step[p] as number);
      const qt = gatingObjective(trial, X, R, n, d, k);
      if (qt >= q) { theta.set(trial); ok = relTol > 0 && Math.abs(qt - q) <= relTol * Math.abs(q) ? null : true; q = qt; break; }
      t /= 2;
    }
    if (ok === false) break;
    accepted++;
    if (ok === null) break;
  }
  return accepted;
}

function thetaOf(p: SoftmaxGaussianParams): Float64Array {
  const a = anchorLast(p);
  const { d, k } = p;
  const th = new Float64Array((k - 1) * (d + 1));
  for (let j = 0; j < k - 1; j++) {
    th[j * (d + 1)] = a.beta0[j] as number;
    for (let t = 0; t < d; t++) th[j * (d + 1) + 1 + t] = a.beta[j * d + t] as number;
  }
  return th;
}

function setTheta(p: SoftmaxGaussianParams, th: Float64Array): void {
  const { d, k } = p;
  for (let j = 0; j < k - 1; j++) {
    p.beta0[j] = th[j * (d + 1)] as number;
    for (let t = 0; t < d; t++) p.beta[j * d + t] = th[j * (d + 1) + 1 + t] as number;
  }
  p.beta0[k - 1] = 0;
  for (let t = 0; t < d; t++) p.beta[(k - 1) * d + t] = 0;
}

const LOG_2PI = Math.log(2 * Math.PI);

function eStep(p: SoftmaxGaussianParams, s: Samples, R: Float64Array, g: Float64Array): number {
  const { d, k } = p;
  const th = thetaOf(p);
  let ll = 0;
  for (let i = 0; i < s.n; i++) {
    gatesAt(th, s.X, i, d, k, g);
    let tot = 0;
    for (let j = 0; j < k; j++) {
      let m = p.b[j] as number;
      for (let t = 0; t < d; t++) m += (p.a[j * d + t] as number) * (s.X[i * d + t] as number);
      const e = (s.Y[i] as number) - m;
      const nu = p.nu[j] as number;
      const v = (g[j] as number) * Math.exp(-0.5 * (LOG_2PI + Math.log(nu)) - (0.5 * e * e) / nu);
      R[i * k + j] = v;
      tot += v;
    }
    if (!(tot > 0)) {
      // Every density underflowed: fall back to the gate probabilities.
      for (let j = 0; j < k; j++) R[i * k + j] = g[j] as number;
      ll += -745;
      continue;
    }
    for (let j = 0; j < k; j++) R[i * k + j] = (R[i * k + j] as number) / tot;
    ll += Math.log(tot);
  }
  return ll / s.n;
}

function mStepExperts(prev: SoftmaxGaussianParams, next: SoftmaxGaussianParams, s: Samples, R: Float64Array, floor: number): number {
  const { d, k } = prev;
  const m = d + 1;
  const M = new Float64Array(m * m);
  const v = new Float64Array(m);
  let hits = 0;
  for (let j = 0; j < k; j++) {
    M.fill(0);
    v.fill(0);
    let s0 = 0;
    for (let i = 0; i < s.n; i++) {
      const r = R[i * k + j] as number;
      if (r === 0) continue;
      s0 += r;
      const y = s.Y[i] as number;
      for (let a = 0; a < m; a++) {
        const za = a < d ? (s.X[i * d + a] as number) : 1;
        v[a] = (v[a] as number) + r * za * y;
        for (let b = 0; b <= a; b++) {
          const zb = b < d ? (s.X[i * d + b] as number) : 1;
          M[a * m + b] = (M[a * m + b] as number) + r * za * zb;
        }
      }
    }
    if (s0 < 1e-10) {
      next.a.set(prev.a.subarray(j * d, (j + 1) * d), j * d);
      next.b[j] = prev.b[j] as number;
      next.nu[j] = prev.nu[j] as number;
      continue;
    }
    for (let a = 0; a < m; a++) for (let b = 0; b < a; b++) M[b * m + a] = M[a * m + b] as number;
    let w = solveSpd(M, v, m);
    if (w === null) {
      for (let a = 0; a < m; a++) M[a * m + a] = (M[a * m + a] as number) + floor * s0;
      w = solveSpd(M, v, m) ?? new Float64Array(m);
      hits++;
    }
    for (let t = 0; t < d; t++) next.a[j * d + t] = w[t] as number;
    next.b[j] = w[d] as number;
    let rss = 0;
    for (let i = 0; i < s.n; i++) {
      let mu = w[d] as number;
      for (let t = 0; t < d; t++) mu += (w[t] as number) * (s.X[i * d + t] as number);
      const e = (s.Y[i] as number) - mu;
      rss += (R[i * k + j] as number) * e * e;
    }
    let nu = rss / s0;
    if (!(nu >= floor)) { nu = floor; hits++; }
    next.nu[j] = nu;
  }
  return hits;
}

function maxChange(a: SoftmaxGaussianParams, b: SoftmaxGaussianParams): number {
  let m = 0;
  for (const key of ['beta0', 'beta', 'a', 'b', 'nu'] as const) {
    for (let i = 0; i < a[key].length; i++) {
      const dv = Math.abs((a[key][i] as number) - (b[key][i] as number));
      m = Number.isNaN(dv) ? Infinity : Math.max(m, dv);
    }
  }
  return m;
}

/** The starting parameters of one EM start (anchored: last gate 0). */
export function softmaxGaussianStart(init: SoftmaxGaussianInit, s: Samples, fam: SoftmaxGaussianFamily, rng: Rng): SoftmaxGaussianParams {
  const { d, k } = fam;
  if (init.kind === 'given') {
    validateSoftmaxGaussian(init.params, 'init.params');
    if (init.params.k !== k || init.params.d !== d) throw new InputError('init.params', `k = ${k}, d = ${d} (the family's)`, `k = ${init.params.k}, d = ${init.params.d}`);
    return anchorLast(init.params);
  }
  if (init.kind === 'random') {
    let ym = 0;
    for (let i = 0; i < s.n; i++) ym += (s.Y[i] as number) / s.n;
    let yv = 0;
    for (let i = 0; i < s.n; i++) yv += ((s.Y[i] as number) - ym) ** 2 / s.n;
    const p: SoftmaxGaussianParams = { d, k, beta0: new Float64Array(k), beta: new Float64Array(k * d), a: new Float64Array(k * d), b: new Float64Array(k), nu: new Float64Array(k).fill(Math.max(yv, 1e-6)) };
    for (let j = 0; j < k; j++) {
      p.b[j] = s.Y[rng.int(s.n)] as number;
      for (let t = 0; t < d; t++) p.beta[j * d + t] = 0.1 * rng.normal();
    }
    return anchorLast(p);
  }
  const truth = softmaxGaussianFromMeasure(init.truth, 'init.truth');
  if (truth.d !== d) throw new InputError('init.truth', `atoms of dimension ${d}`, String(truth.d));
  if (k < truth.k) throw new InputError('family.k', `at least the true number of components k* = ${truth.k}`, String(k));
  const assign = randomCoverAssignment(truth.k, k, rng);
  const count = new Int32Array(truth.k);
  for (const j of assign) count[j] = (count[j] as number) + 1;
  const p: SoftmaxGaussianParams = { d, k, beta0: new Float64Array(k), beta: new Float64Array(k * d), a: new Float64Array(k * d), b: new Float64Array(k), nu: new Float64Array(k) };
  if (init.kind === 'near-experts') return nearExpertsStart(init, truth, assign, p, s, rng);
  const sc = init.scale;
  for (let i = 0; i < k; i++) {
    const j = assign[i] as number;
    p.beta0[i] = (truth.beta0[j] as number) - Math.log(count[j] as number) + sc * rng.normal();
    for (let t = 0; t < d; t++) {
      p.beta[i * d + t] = (truth.beta[j * d + t] as number) + sc * rng.normal();
      p.a[i * d + t] = (truth.a[j * d + t] as number) + sc * rng.normal();
    }
    p.b[i] = (truth.b[j] as number) + sc * rng.normal();
    p.nu[i] = (truth.nu[j] as number) + Math.abs(sc * rng.normal());
  }
  return anchorLast(p);
}

function nearExpertsStart(
  init: Extract<SoftmaxGaussianInit, { kind: 'near-experts' }>,
  truth: SoftmaxGaussianParams,
  assign: ArrayLike<number>,
  p: SoftmaxGaussianParams,
  s: Samples,
  rng: Rng,
): SoftmaxGaussianParams {
  const { d, k } = p;
  const nuStart = init.nuStart ?? Array.from(truth.nu);
  if (nuStart.length !== truth.k) throw new InputError('init.nuStart', `${truth.k} starting variances (one per true component)`, String(nuStart.length));
  nuStart.forEach((v, j) => {
    if (!(Number.isFinite(v) && v > 0)) throw new InputError(`init.nuStart[${j}]`, 'a finite variance > 0', String(v));
  });
  for (const [name, v] of [['expertScale', init.expertScale], ['nuScale', init.nuScale]] as const)
    if (!(Number.isFinite(v) && v >= 0)) throw new InputError(`init.${name}`, 'a finite number >= 0', String(v));
  for (let i = 0; i < k; i++) {
    const j = assign[i] as number;
    for (let t = 0; t < d; t++) p.a[i * d + t] = (truth.a[j * d + t] as number) + init.expertScale * rng.normal();
    p.b[i] = (truth.b[j] as number) + init.expertScale * rng.normal();
    p.nu[i] = (nuStart[j] as number) + Math.abs(init.nuScale * rng.normal());
  }
  // Gates: the multinomial-logit fit to uniformly random labels (one-hot responsibilities).
  const R = new Float64Array(s.n * k);
  for (let i = 0; i < s.n; i++) R[i * k + rng.int(k)] = 1;
  const th = new Float64Array((k - 1) * (d + 1));
  newtonGatingSteps(th, s.X, R, s.n, d, k, LABEL_GATE_STEPS, LABEL_GATE_GRAD_TOL);
  setTheta(p, th);
  return p;
}

function checkSamples(s: Samples, d: number): void {
  if (!Number.isInteger(s.n) || s.n < 1) throw new InputError('samples.n', 'a positive integer', String(s.n));
  if (s.inputDim !== d) throw new InputError('samples.inputDim', `${d} (the family's d)`, String(s.inputDim));
  if (s.outputDim !== 1) throw new InputError('samples.outputDim', '1 (scalar y)', String(s.outputDim));
  if (s.X.length !== s.n * d) throw new InputError('samples.X', `${s.n * d} numbers (n x d)`, String(s.X.length));
  if (s.Y.length !== s.n) throw new InputError('samples.Y', `${s.n} numbers`, String(s.Y.length));
  for (let i = 0; i < s.X.length; i++) if (!Number.isFinite(s.X[i] as number)) throw new InputError(`samples.X[${i}]`, 'a finite number', String(s.X[i]));
  for (let i = 0; i < s.Y.length; i++) if (!Number.isFinite(s.Y[i] as number)) throw new InputError(`samples.Y[${i}]`, 'a finite number', String(s.Y[i]));
}

export function fitEmSoftmaxGaussian(family: SoftmaxGaussianFamily, samples: Samples, options: EmSoftmaxGaussianOptions): EmSoftmaxGaussianResult {
  const t0 = performance.now();
  const { d, k } = family;
  if (!Number.isInteger(d) || d < 1) throw new InputError('family.d', 'a positive integer', String(d));
  if (!Number.isInteger(k) || k < 1) throw new InputError('family.k', 'a positive integer', String(k));
  checkSamples(samples, d);
  const nParams = (k - 1) * (d + 1) + k * (d + 2);
  if (samples.n < nParams) throw new InputError('samples.n', `at least the number of parameters (${nParams})`, String(samples.n));
  const tol = options.tolerance ?? 1e-5;
  const maxIt = options.maxIterations ?? 2000;
  const floor = options.varianceFloor ?? 1e-10;
  const starts = options.starts ?? 1;
  const newton = options.newtonSteps ?? 3;
  const stopRule = options.stopRule ?? 'parameters';
  const newtonTol = options.newtonTolerance ?? 0;
  if (!(Number.isFinite(newtonTol) && newtonTol >= 0)) throw new InputError('newtonTolerance', 'a finite number >= 0', String(newtonTol));
  if (stopRule !== 'parameters' && stopRule !== 'loglik') throw new InputError('stopRule', "'parameters' or 'loglik'", String(stopRule));
  if (!Number.isInteger(maxIt) || maxIt < 1) throw new InputError('maxIterations', 'a positive integer', String(maxIt));
  if (!Number.isInteger(starts) || starts < 1) throw new InputError('starts', 'a positive integer', String(starts));
  const R = new Float64Array(samples.n * k);
  const g = new Float64Array(k);
  let best: { p: SoftmaxGaussianParams; ll: number; it: number; conv: boolean; change: number; hits: number; trace: number[] } | null = null;
  for (let st = 0; st < starts; st++) {
    let cur = softmaxGaussianStart(options.init, samples, family, options.rng);
    let nxt = cloneSoftmaxGaussian(cur);
    const trace: number[] = [];
    let it = 0;
    let conv = false;
    let change = Infinity;
    let hits = 0;
    let prevLl = -Infinity;
    while (it < maxIt) {
      const ll = eStep(cur, samples, R, g);
      if (options.trace) trace.push(ll);
      if (stopRule === 'loglik' && Number.isFinite(prevLl) && Math.abs(ll - prevLl) <= tol * Math.abs(prevLl)) { conv = true; break; }
      prevLl = ll;
      hits += mStepExperts(cur, nxt, samples, R, floor);
      const th = thetaOf(cur);
      newtonGatingSteps(th, samples.X, R, samples.n, d, k, newton, undefined, newtonTol);
      setTheta(nxt, th);
      it++;
      change = maxChange(cur, nxt);
      [cur, nxt] = [nxt, cur];
      if (stopRule === 'parameters' && change < tol) { conv = true; break; }
    }
    const ll = eStep(cur, samples, R, g);
    if (options.trace) trace.push(ll);
    if (best === null || ll > best.ll) best = { p: cur, ll, it, conv, change, hits, trace };
  }
  const b = best as NonNullable<typeof best>;
  return {
    params: b.p,
    measure: softmaxGaussianToMeasure(b.p),
    diagnostics: {
      iterations: b.it, converged: b.conv, objective: -b.ll, restarts: starts, seconds: (performance.now() - t0) / 1000,
      logLikelihood: b.ll, lastChange: b.change, floorHits: b.hits, ...(options.trace ? { trace: b.trace } : {}),
    },
  };
}

export const emSoftmaxGaussian: Estimator<SoftmaxGaussianFamily> = {
  name: 'em-softmax-gaussian',
  fit: (family, samples, options) => fitEmSoftmaxGaussian(family, samples, options),
};

