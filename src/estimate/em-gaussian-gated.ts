/**
 * EM for Gaussian-gated mixtures of experts on the joint likelihood of (x, y):
 *
 *   p(x, y) = sum_k pi_k N(x | c_k, Gamma_k) N(y | A_k^T x + b_k, nu_k)
 *
 * E step: r_ik = pi_k N(x_i|c_k,Gamma_k) N(y_i|A_k^T x_i+b_k,nu_k) / sum_l (same for l).
 * M step (closed form), with S_k = sum_i r_ik:
 *   pi_k = S_k / n,  c_k = sum_i r_ik x_i / S_k,  Gamma_k = sum_i r_ik (x_i-c_k)(x_i-c_k)^T / S_k,
 *   A_k = Sxx_k^{-1} Sxy_k (centred weighted least squares), b_k = ybar_k - A_k^T c_k,
 *   nu_k = (Syy_k - A_k^T Sxy_k) / S_k,
 * where Sxx, Sxy, Syy are the responsibility-weighted centred second moments. Each iteration
 * does not decrease the joint log-likelihood (checked in the tests).
 *
 * Protocols (docs/theory.md §4, gaussian-gated):
 *  - 'converged': iterate until the largest absolute change of any parameter (pi, c, Gamma, A, b,
 *    nu) between the previous and the new iterate is below `tolerance` (default 1e-5), or
 *    `maxIterations` (default 2000). The previous iterate is a separate copy: the official code's
 *    bug (both names bound to one array, so the change was always 0) is not reproduced.
 *  - 'as-published': exactly one E step and one M step from the start, which is what the official
 *    code ran in effect (every stored iteration count was 0).
 *
 * Degenerate variances: a variance (Gamma's eigen-directions via its Cholesky diagonal, nu) that
 * would fall below `varianceFloor` is raised to it; a component whose total responsibility falls
 * below 1e-10 keeps its previous gate and expert parameters (only its weight is updated). Both are
 * counted in the diagnostics (`floorHits`, `emptyComponentUpdates`).
 *
 * Each iteration is one fused pass over the data (`emPass`: responsibilities, shifted weighted
 * sufficient statistics and the log-likelihood together; no n x k responsibility array) and a
 * closed-form M step. Hot loops run on Float64Arrays allocated once per fit; nothing is allocated
 * per sample. At d = 1 the pass has two faster forms with the same contract (`EmPassKind`): a JS
 * specialisation that is bit for bit the general pass, and an f64x2 WebAssembly kernel
 * (em-d1.wat, the default where built) that agrees with it to rounding.
 */
import { solveSpdFlat } from '../linalg/solve.js';
import { EmD1Kernel, wasmEmStatus } from './em-d1-kernel.js';
import { InputError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import type { Samples } from '../mixture/family.js';
import type { MixingMeasure } from '../mixture/measure.js';
import {
  type GaussianGatedParams,
  choleskyInverse,
  cloneGaussianGated,
  gaussianGatedFromMeasure,
  gaussianGatedParamCount,
  gaussianGatedToMeasure,
  validateGaussianGated,
  validateGaussianGatedSamples,
} from '../mixture/gaussian-gated.js';
import type { Estimator, FitDiagnostics, FitResult, Init } from './estimator.js';

export type EmProtocol = 'as-published' | 'converged';

/**
 * The E-step pass an iteration runs. 'general': `emPass`, loops over d (any d; the reference).
 * 'js': the d = 1 specialisation `emPassD1` where d = 1 (bit for bit the general pass), else general.
 * 'wasm': the f64x2 WebAssembly kernel of em-d1.wat where d = 1 (equal to 'js' to rounding), else general.
 */
export type EmPassKind = 'wasm' | 'js' | 'general';

/** The environment variable that selects the pass when no option does. */
export const EM_PASS_ENV = 'PROMPT_EXPERTS_EM';

const PASS_KINDS: ReadonlyArray<EmPassKind> = ['wasm', 'js', 'general'];

/**
 * The pass a fit in dimension d runs: `option`, else $PROMPT_EXPERTS_EM, else 'wasm' where the
 * kernel is built ('js' otherwise); 'general' whenever d > 1. Asking for 'wasm' where it is not
 * built is an error.
 */
export function resolveEmPass(d: number, option?: EmPassKind): EmPassKind {
  const env = process.env[EM_PASS_ENV];
  const list = PASS_KINDS.map((x) => `'${x}'`).join(' | ');
  if (option === undefined && env !== undefined && env !== '' && !PASS_KINDS.includes(env as EmPassKind)) {
    throw new InputError(EM_PASS_ENV, `${list} (or unset)`, JSON.stringify(env));
  }
  if (option !== undefined && !PASS_KINDS.includes(option)) throw new InputError('pass', list, String(option));
  const want = option ?? (env === undefined || env === '' ? undefined : (env as EmPassKind));
  if (d !== 1 || want === 'general') return 'general';
  if (want === 'js') return 'js';
  const ws = wasmEmStatus();
  if (ws.available) return 'wasm';
  if (want === 'wasm') throw new InputError(option === undefined ? EM_PASS_ENV : 'pass', `'js' or 'general', or build the WebAssembly kernel with \`npm run build\` (${ws.reason})`, "'wasm'");
  return 'js';
}

/** The family EM fits: k components in dimension d. */
export interface GaussianGatedFamily {
  readonly kind: 'gaussian-gated';
  readonly d: number;
  readonly k: number;
}

/**
 * Starts. 'published': the initialisation of the official code (see `publishedInit`), for the
 * given truth and this sample size. 'near': the same assignment of fitted to true components,
 * perturbed with a fixed `scale` (c, A, b by N(0, scale^2), variances by |N(0, scale^2)|).
 * 'random': uniform weights, means at random data points, the data covariance, flat experts.
 */
export type GaussianGatedInit =
  | Init
  | { readonly kind: 'published'; readonly truth: GaussianGatedParams | MixingMeasure }
  | { readonly kind: 'given'; readonly params: GaussianGatedParams };

export interface EmGaussianGatedOptions {
  readonly rng: Rng;
  readonly init: GaussianGatedInit;
  /** Default 'converged'. */
  readonly protocol?: EmProtocol;
  /** Largest absolute parameter change that counts as converged (default 1e-5). */
  readonly tolerance?: number;
  /** Default 2000. */
  readonly maxIterations?: number;
  /** Number of starts; the one with the highest final log-likelihood wins (default 1). */
  readonly starts?: number;
  /** Smallest allowed variance (default 1e-10). */
  readonly varianceFloor?: number;
  /** Record the log-likelihood at every iteration in `diagnostics.trace` (default false). */
  readonly trace?: boolean;
  /** The E-step pass (see `resolveEmPass`; default $PROMPT_EXPERTS_EM, else the fastest available). */
  readonly pass?: EmPassKind;
}

export interface EmDiagnostics extends FitDiagnostics {
  readonly protocol: EmProtocol;
  /** The E-step pass that ran. */
  readonly pass: EmPassKind;
  /** Mean joint log-likelihood at the returned parameters (objective = its negative). */
  readonly logLikelihood: number;
  /** Largest absolute parameter change in the last iteration. */
  readonly lastChange: number;
  /** Times a variance was raised to the floor. */
  readonly floorHits: number;
  /** Component updates skipped because the component's responsibility vanished. */
  readonly emptyComponentUpdates: number;
  /** Mean joint log-likelihood before each M step, then at the returned parameters (when `trace`). */
  readonly trace?: number[];
}

export interface EmGaussianGatedResult extends FitResult {
  readonly params: GaussianGatedParams;
  readonly diagnostics: EmDiagnostics;
}

/** Perturbation scales of the published start for sample size n: [location sd, variance sd]. */
export function publishedPerturbationScales(n: number): [number, number] {
  return [0.005 * Math.pow(n, -0.083), 0.0005 * Math.pow(n, -0.25)];
}

/**
 * Assign k fitted components to the k* true ones at random so that every true one gets at least
 * one: a random permutation of the true indices, then k - k* uniform draws, shuffled together.
 */
export function randomCoverAssignment(kTrue: number, k: number, rng: Rng): Int32Array {
  const out = new Int32Array(k);
  const perm = Array.from({ length: kTrue }, (_, i) => i);
  for (let i = kTrue - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [perm[i], perm[j]] = [perm[j] as number, perm[i] as number];
  }
  for (let i = 0; i < k; i++) out[i] = i < kTrue ? (perm[i] as number) : rng.int(kTrue);
  for (let i = k - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = out[i] as number;
    out[i] = out[j] as number;
    out[j] = t;
  }
  return out;
}

/**
 * Start near the truth: each fitted component copies its assigned true component, the true
 * weight is split evenly among the copies, c, A, b get N(0, locScale^2) noise and the variances
 * (nu, and Gamma's diagonal) get |N(0, varScale^2)|.
 */
export function perturbedStart(truth: GaussianGatedParams, k: number, locScale: number, varScale: number, rng: Rng): GaussianGatedParams {
  const { d } = truth;
  if (k < truth.k) throw new InputError('family.k', `at least the true number of components k* = ${truth.k}`, String(k));
  const assign = randomCoverAssignment(truth.k, k, rng);
  const count = new Int32Array(truth.k);
  for (const j of assign) count[j] = (count[j] as number) + 1;
  const p: GaussianGatedParams = {
    d, k,
    pi: new Float64Array(k), c: new Float64Array(k * d), Gamma: new Float64Array(k * d * d),
    A: new Float64Array(k * d), b: new Float64Array(k), nu: new Float64Array(k),
  };
  for (let i = 0; i < k; i++) {
    const j = assign[i] as number;
    p.pi[i] = (truth.pi[j] as number) / (count[j] as number);
    for (let r = 0; r < d; r++) p.c[i * d + r] = (truth.c[j * d + r] as number) + locScale * rng.normal();
    for (let r = 0; r < d * d; r++) p.Gamma[i * d * d + r] = truth.Gamma[j * d * d + r] as number;
    for (let r = 0; r < d; r++) p.Gamma[i * d * d + r * d + r] = (p.Gamma[i * d * d + r * d + r] as number) + Math.abs(varScale * rng.normal());
    for (let r = 0; r < d; r++) p.A[i * d + r] = (truth.A[j * d + r] as number) + locScale * rng.normal();
    p.b[i] = (truth.b[j] as number) + locScale * rng.normal();
    p.nu[i] = (truth.nu[j] as number) + Math.abs(varScale * rng.normal());
  }
  return p;
}

/** The official code's start for sample size n (docs/theory.md §4, gaussian-gated). */
export function publishedInit(truth: GaussianGatedParams, k: number, n: number, rng: Rng): GaussianGatedParams {
  const [loc, v] = publishedPerturbationScales(n);
  return perturbedStart(truth, k, loc, v, rng);
}

function randomStart(s: Samples, d: number, k: number, rng: Rng): GaussianGatedParams {
  const { n } = s;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let r = 0; r < d; r++) mean[r] = (mean[r] as number) + (s.X[i * d + r] as number) / n;
  const cov = new Float64Array(d * d);
  let ym = 0;
  for (let i = 0; i < n; i++) ym += (s.Y[i] as number) / n;
  let yv = 0;
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < d; r++) for (let t = 0; t < d; t++) {
      cov[r * d + t] = (cov[r * d + t] as number) + ((s.X[i * d + r] as number) - (mean[r] as number)) * ((s.X[i * d + t] as number) - (mean[t] as number)) / n;
    }
    yv += ((s.Y[i] as number) - ym) ** 2 / n;
  }
  for (let r = 0; r < d; r++) cov[r * d + r] = Math.max(cov[r * d + r] as number, 1e-6);
  const p: GaussianGatedParams = {
    d, k,
    pi: new Float64Array(k).fill(1 / k), c: new Float64Array(k * d), Gamma: new Float64Array(k * d * d),
    A: new Float64Array(k * d), b: new Float64Array(k), nu: new Float64Array(k).fill(Math.max(yv, 1e-6)),
  };
  for (let j = 0; j < k; j++) {
    const i = rng.int(n);
    p.c.set(s.X.subarray(i * d, (i + 1) * d), j * d);
    p.Gamma.set(cov, j * d * d);
    p.b[j] = s.Y[i] as number;
  }
  return p;
}

function startFrom(init: GaussianGatedInit, s: Samples, fam: GaussianGatedFamily, rng: Rng): GaussianGatedParams {
  switch (init.kind) {
    case 'random':
      return randomStart(s, fam.d, fam.k, rng);
    case 'given': {
      validateGaussianGated(init.params, 'init.params');
      if (init.params.k !== fam.k || init.params.d !== fam.d) throw new InputError('init.params', `k = ${fam.k}, d = ${fam.d} (the family's)`, `k = ${init.params.k}, d = ${init.params.d}`);
      return cloneGaussianGated(init.params);
    }
    case 'near':
    case 'published': {
      const truth = 'atoms' in init.truth ? gaussianGatedFromMeasure(init.truth, 'init.truth') : init.truth;
      validateGaussianGated(truth, 'init.truth');
      if (truth.d !== fam.d) throw new InputError('init.truth.d', `${fam.d} (the family's d)`, String(truth.d));
      if (fam.k < truth.k) throw new InputError('family.k', `at least the true number of components k* = ${truth.k}`, String(fam.k));
      if (init.kind === 'published') return publishedInit(truth, fam.k, s.n, rng);
      return perturbedStart(truth, fam.k, init.scale, init.scale, rng);
    }
  }
}

/** Workspace of one fit: allocated once. */
interface Work {
  n: number; d: number; k: number;
  lw: Float64Array; // k
  /** Per sample: dx_j = x - c_j (k x d) and dy_j = y - (b_j + A_j^T c_j) (k), the shifts of the current iterate. */
  dx: Float64Array; dy: Float64Array;
  /** Shifted responsibility-weighted moments: S0 = sum r, Sx = sum r dx, Sy = sum r dy, Sxx = sum r dx dx^T (lower), Sxy = sum r dx dy, Syy = sum r dy^2. */
  S0: Float64Array; Sx: Float64Array; Sy: Float64Array;
  Sxx: Float64Array; Sxy: Float64Array; Syy: Float64Array;
  Linv: Float64Array; gateConst: Float64Array; expertConst: Float64Array; invNu: Float64Array; shiftY: Float64Array;
  /** gateConst + expertConst (the d = 1 pass reads one constant per component). */
  logConst: Float64Array;
  /** The WebAssembly pass over this fit's data (pass 'wasm' only). */
  kernel: EmD1Kernel | null;
}

function makeWork(n: number, d: number, k: number, kind: EmPassKind, s: Samples): Work {
  return {
    n, d, k,
    lw: new Float64Array(k), dx: new Float64Array(k * d), dy: new Float64Array(k),
    S0: new Float64Array(k), Sx: new Float64Array(k * d), Sy: new Float64Array(k),
    Sxx: new Float64Array(k * d * d), Sxy: new Float64Array(k * d), Syy: new Float64Array(k),
    Linv: new Float64Array(k * d * d), gateConst: new Float64Array(k), expertConst: new Float64Array(k), invNu: new Float64Array(k), shiftY: new Float64Array(k),
    logConst: new Float64Array(k),
    kernel: kind === 'wasm' ? new EmD1Kernel(s.X, s.Y, n, k) : null,
  };
}

const LOG_2PI = Math.log(2 * Math.PI);

/** Per-component constants; returns false if some covariance is not positive definite. */
function prepare(p: GaussianGatedParams, w: Work): boolean {
  const { d, k } = w;
  for (let j = 0; j < k; j++) {
    const ch = choleskyInverse(p.Gamma.subarray(j * d * d, (j + 1) * d * d), d);
    if (ch === null) return false;
    w.Linv.set(ch.Linv, j * d * d);
    const pj = p.pi[j] as number;
    w.gateConst[j] = (pj > 0 ? Math.log(pj) : -Infinity) - 0.5 * ch.logDet - 0.5 * d * LOG_2PI;
    const nu = p.nu[j] as number;
    w.expertConst[j] = -0.5 * (LOG_2PI + Math.log(nu));
    w.invNu[j] = 1 / nu;
    w.logConst[j] = (w.gateConst[j] as number) + (w.expertConst[j] as number);
    let m = p.b[j] as number;
    for (let t = 0; t < d; t++) m += (p.A[j * d + t] as number) * (p.c[j * d + t] as number);
    w.shiftY[j] = m;
  }
  return true;
}

/**
 * One fused pass at p (after `prepare`): per sample, with dx_j = x - c_j and dy_j = y - (b_j + A_j^T c_j),
 *   log w_j = gateConst_j + expertConst_j - 1/2 (|L_j^{-1} dx_j|^2 + (dy_j - A_j^T dx_j)^2 / nu_j),
 *   r_j = softmax_j(log w), log-likelihood += logsumexp(log w),
 * and (withStats) the shifted moments of `Work` accumulated with r_j, all in the same loop: the
 * responsibilities are never stored and the data are read once per iteration. Shifting by the
 * current iterate keeps the centred moments free of cancellation when the mixture moves little.
 * Returns the mean joint log-likelihood at p.
 */
function emPass(p: GaussianGatedParams, s: Samples, w: Work, withStats: boolean): number {
  const { n, d, k, lw, dx, dy, S0, Sx, Sy, Sxx, Sxy, Syy, Linv, gateConst, expertConst, invNu, shiftY } = w;
  const X = s.X;
  const Y = s.Y;
  const c = p.c;
  const A = p.A;
  if (withStats) { S0.fill(0); Sx.fill(0); Sy.fill(0); Sxx.fill(0); Sxy.fill(0); Syy.fill(0); }
  let ll = 0;
  for (let i = 0; i < n; i++) {
    const xo = i * d;
    const y = Y[i] as number;
    let mx = -Infinity;
    for (let j = 0; j < k; j++) {
      const jd = j * d;
      const lb = jd * d;
      let q = 0;
      let e = y - (shiftY[j] as number);
      dy[j] = e;
      for (let r = 0; r < d; r++) {
        const u = (X[xo + r] as number) - (c[jd + r] as number);
        dx[jd + r] = u;
        e -= (A[jd + r] as number) * u;
        let z = 0;
        for (let t = 0; t <= r; t++) z += (Linv[lb + r * d + t] as number) * (dx[jd + t] as number);
        q += z * z;
      }
      const v = (gateConst[j] as number) + (expertConst[j] as number) - 0.5 * (q + e * e * (invNu[j] as number));
      lw[j] = v;
      if (v > mx) mx = v;
    }
    let tot = 0;
    for (let j = 0; j < k; j++) {
      const v = lw[j] as number;
      const e = v === mx ? 1 : Math.exp(v - mx); // exp(0) = 1 exactly: the leading component costs no exp
      lw[j] = e;
      tot += e;
    }
    ll += mx + Math.log(tot);
    if (!withStats) continue;
    const inv = 1 / tot;
    for (let j = 0; j < k; j++) {
      const r = (lw[j] as number) * inv;
      if (r === 0) continue;
      const jd = j * d;
      const base = jd * d;
      const ry = r * (dy[j] as number);
      S0[j] = (S0[j] as number) + r;
      Sy[j] = (Sy[j] as number) + ry;
      Syy[j] = (Syy[j] as number) + ry * (dy[j] as number);
      for (let a = 0; a < d; a++) {
        const ua = dx[jd + a] as number;
        const rua = r * ua;
        Sx[jd + a] = (Sx[jd + a] as number) + rua;
        Sxy[jd + a] = (Sxy[jd + a] as number) + rua * (dy[j] as number);
        for (let bb = 0; bb <= a; bb++) Sxx[base + a * d + bb] = (Sxx[base + a * d + bb] as number) + rua * (dx[jd + bb] as number);
      }
    }
  }
  return ll / n;
}

/**
 * `emPass` specialised to d = 1: the same operations in the same order (so the same bits), with
 * the loops over d gone and every per-component constant read from a length-k array:
 *   u_j = x - c_j, dy_j = y - shiftY_j, e_j = dy_j - A_j u_j, z_j = L_j^{-1} u_j,
 *   log w_j = logConst_j - 1/2 (z_j^2 + e_j^2 / nu_j).
 */
function emPassD1(p: GaussianGatedParams, s: Samples, w: Work, withStats: boolean): number {
  const { n, k, lw, dx, dy, S0, Sx, Sy, Sxx, Sxy, Syy, Linv, logConst, invNu, shiftY } = w;
  const X = s.X;
  const Y = s.Y;
  const c = p.c;
  const A = p.A;
  if (withStats) { S0.fill(0); Sx.fill(0); Sy.fill(0); Sxx.fill(0); Sxy.fill(0); Syy.fill(0); }
  let ll = 0;
  for (let i = 0; i < n; i++) {
    const x = X[i] as number;
    const y = Y[i] as number;
    let mx = -Infinity;
    for (let j = 0; j < k; j++) {
      const u = x - (c[j] as number);
      const h = y - (shiftY[j] as number);
      const e = h - (A[j] as number) * u;
      const z = (Linv[j] as number) * u;
      const v = (logConst[j] as number) - 0.5 * (z * z + e * e * (invNu[j] as number));
      dx[j] = u;
      dy[j] = h;
      lw[j] = v;
      if (v > mx) mx = v;
    }
    let tot = 0;
    for (let j = 0; j < k; j++) {
      const v = lw[j] as number;
      const e = v === mx ? 1 : Math.exp(v - mx);
      lw[j] = e;
      tot += e;
    }
    ll += mx + Math.log(tot);
    if (!withStats) continue;
    const inv = 1 / tot;
    for (let j = 0; j < k; j++) {
      const r = (lw[j] as number) * inv;
      if (r === 0) continue;
      const u = dx[j] as number;
      const h = dy[j] as number;
      const ry = r * h;
      const ru = r * u;
      S0[j] = (S0[j] as number) + r;
      Sy[j] = (Sy[j] as number) + ry;
      Syy[j] = (Syy[j] as number) + ry * h;
      Sx[j] = (Sx[j] as number) + ru;
      Sxy[j] = (Sxy[j] as number) + ru * h;
      Sxx[j] = (Sxx[j] as number) + ru * u;
    }
  }
  return ll / n;
}

const EMPTY = 1e-10;

/** Solve the small symmetric system M a = v (size m) by ml-matrix Cholesky, LU as a fallback. */
function solveSmall(M: Float64Array, v: Float64Array, m: number, out: Float64Array): boolean {
  if (m === 1) {
    const a = M[0] as number;
    if (!(a > 0)) return false;
    out[0] = (v[0] as number) / a;
    return true;
  }
  const x = solveSpdFlat(M, v, m);
  if (x === null) return false;
  out.set(x);
  return true;
}

/**
 * M step into `next` (all arrays overwritten) from the shifted moments of `emPass` at `prev`:
 * with delta_j = Sx_j / S0_j and eta_j = Sy_j / S0_j, c_j = prev c_j + delta_j, ybar_j = shiftY_j + eta_j,
 * and the centred moments Sxx - S0 delta delta^T, Sxy - S0 delta eta, Syy - S0 eta^2 (in place).
 * Returns [floorHits, emptyUpdates].
 */
function mStep(prev: GaussianGatedParams, next: GaussianGatedParams, w: Work, floor: number): [number, number] {
  const { n, d, k, S0, Sx, Sy, Sxx, Sxy, Syy, shiftY } = w;
  let floorHits = 0;
  let empty = 0;
  const cbar = next.c;
  const ybar = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const s0 = S0[j] as number;
    next.pi[j] = s0 / n;
    const jd = j * d;
    if (s0 < EMPTY) {
      for (let t = 0; t < d; t++) cbar[jd + t] = prev.c[jd + t] as number;
      ybar[j] = 0;
      continue;
    }
    const eta = (Sy[j] as number) / s0;
    ybar[j] = (shiftY[j] as number) + eta;
    const base = jd * d;
    for (let a = 0; a < d; a++) {
      const da = (Sx[jd + a] as number) / s0;
      cbar[jd + a] = (prev.c[jd + a] as number) + da;
      Sxy[jd + a] = (Sxy[jd + a] as number) - s0 * da * eta;
      for (let bb = 0; bb <= a; bb++) Sxx[base + a * d + bb] = (Sxx[base + a * d + bb] as number) - s0 * da * ((Sx[jd + bb] as number) / s0);
    }
    Syy[j] = (Syy[j] as number) - s0 * eta * eta;
    for (let a = 0; a < d; a++) for (let bb = 0; bb < a; bb++) Sxx[base + bb * d + a] = Sxx[base + a * d + bb] as number;
  }
  const sol = new Float64Array(d);
  for (let j = 0; j < k; j++) {
    const s0 = S0[j] as number;
    const base = j * d * d;
    if (s0 < EMPTY) {
      empty++;
      next.Gamma.set(prev.Gamma.subarray(base, base + d * d), base);
      next.A.set(prev.A.subarray(j * d, (j + 1) * d), j * d);
      next.b[j] = prev.b[j] as number;
      next.nu[j] = prev.nu[j] as number;
      continue;
    }
    // Gamma_k = Sxx / S0, floored.
    for (let t = 0; t < d * d; t++) next.Gamma[base + t] = (Sxx[base + t] as number) / s0;
    const G = next.Gamma.subarray(base, base + d * d);
    if (d === 1) {
      if (!((G[0] as number) >= floor)) { G[0] = floor; floorHits++; }
    } else {
      let tries = 0;
      while (tries < 60) {
        const ch = choleskyInverse(G, d);
        let ok = ch !== null;
        if (ch !== null) for (let t = 0; t < d; t++) if (!((ch.Linv[t * d + t] as number) ** -2 >= floor)) ok = false;
        if (ok) break;
        for (let t = 0; t < d; t++) G[t * d + t] = (G[t * d + t] as number) + floor * Math.pow(2, tries);
        tries++;
        floorHits++;
      }
    }
    // A_k = Sxx^{-1} Sxy (ridge by the floor if singular), b_k = ybar - A^T c.
    const M = Sxx.subarray(base, base + d * d);
    const v = Sxy.subarray(j * d, (j + 1) * d);
    if (!solveSmall(M, v, d, sol)) {
      const Mr = Float64Array.from(M);
      for (let t = 0; t < d; t++) Mr[t * d + t] = (Mr[t * d + t] as number) + floor * s0;
      if (!solveSmall(Mr, v, d, sol)) sol.fill(0);
      floorHits++;
    }
    let bj = ybar[j] as number;
    let explained = 0;
    for (let t = 0; t < d; t++) {
      next.A[j * d + t] = sol[t] as number;
      bj -= (sol[t] as number) * (cbar[j * d + t] as number);
      explained += (sol[t] as number) * (v[t] as number);
    }
    next.b[j] = bj;
    let nu = ((Syy[j] as number) - explained) / s0;
    if (!(nu >= floor)) { nu = floor; floorHits++; }
    next.nu[j] = nu;
  }
  return [floorHits, empty];
}

function maxChange(a: GaussianGatedParams, b: GaussianGatedParams): number {
  let m = 0;
  for (const key of ['pi', 'c', 'Gamma', 'A', 'b', 'nu'] as const) {
    const x = a[key];
    const y = b[key];
    for (let i = 0; i < x.length; i++) {
      const dv = Math.abs((x[i] as number) - (y[i] as number));
      if (dv > m || Number.isNaN(dv)) m = Number.isNaN(dv) ? Infinity : dv;
    }
  }
  return m;
}

interface RunOut { params: GaussianGatedParams; ll: number; iterations: number; converged: boolean; lastChange: number; floorHits: number; empty: number; trace?: number[] }

function runPass(kind: EmPassKind, p: GaussianGatedParams, s: Samples, w: Work, withStats: boolean): number {
  if (kind === 'wasm' && w.kernel !== null) {
    w.kernel.setComponents(p.c, w.shiftY, p.A, w.Linv, w.logConst, w.invNu);
    return w.kernel.pass(withStats ? w : null);
  }
  return kind === 'js' ? emPassD1(p, s, w, withStats) : emPass(p, s, w, withStats);
}

function runOnce(kind: EmPassKind, start: GaussianGatedParams, s: Samples, w: Work, protocol: EmProtocol, tol: number, maxIt: number, floor: number, trace: boolean): RunOut {
  let cur = cloneGaussianGated(start);
  let nxt = cloneGaussianGated(start); // a separate buffer: `cur` keeps the previous iterate.
  const tr: number[] = [];
  let floorHits = 0;
  let empty = 0;
  let it = 0;
  let converged = false;
  let lastChange = Infinity;
  const limit = protocol === 'as-published' ? 1 : maxIt;
  while (it < limit) {
    if (!prepare(cur, w)) throw new Error('EM: a covariance lost positive definiteness despite the floor');
    const ll = runPass(kind, cur, s, w, true);
    if (trace) tr.push(ll);
    const [fh, em] = mStep(cur, nxt, w, floor);
    floorHits += fh;
    empty += em;
    it++;
    lastChange = maxChange(cur, nxt);
    [cur, nxt] = [nxt, cur];
    if (protocol === 'converged' && lastChange < tol) { converged = true; break; }
  }
  prepare(cur, w);
  const ll = runPass(kind, cur, s, w, false);
  if (trace) tr.push(ll);
  return { params: cur, ll, iterations: it, converged, lastChange, floorHits, empty, ...(trace ? { trace: tr } : {}) };
}

/**
 * One EM iteration from p (E step and M step, one pass over the data): the next iterate and the
 * mean joint log-likelihood at p. For checks and benchmarks; `fitEmGaussianGated` runs the same code.
 */
export function emIteration(p: GaussianGatedParams, samples: Samples, varianceFloor = 1e-10, pass?: EmPassKind): { readonly next: GaussianGatedParams; readonly logLikelihood: number; readonly pass: EmPassKind } {
  validateGaussianGated(p, 'params');
  validateGaussianGatedSamples(samples, p.d);
  const kind = resolveEmPass(p.d, pass);
  const w = makeWork(samples.n, p.d, p.k, kind, samples);
  if (!prepare(p, w)) throw new InputError('params.Gamma', 'positive definite covariances', 'a covariance that is not');
  const logLikelihood = runPass(kind, p, samples, w, true);
  const next = cloneGaussianGated(p);
  mStep(p, next, w, varianceFloor);
  return { next, logLikelihood, pass: kind };
}

/** Fit a Gaussian-gated mixture of `family.k` components to (X, y) samples by EM. */
export function fitEmGaussianGated(family: GaussianGatedFamily, samples: Samples, options: EmGaussianGatedOptions): EmGaussianGatedResult {
  const t0 = performance.now();
  const { d, k } = family;
  if (!Number.isInteger(d) || d < 1) throw new InputError('family.d', 'a positive integer', String(d));
  if (!Number.isInteger(k) || k < 1) throw new InputError('family.k', 'a positive integer', String(k));
  validateGaussianGatedSamples(samples, d);
  const nParams = gaussianGatedParamCount(d, k);
  if (samples.n < nParams) throw new InputError('samples.n', `at least the number of parameters (${nParams})`, String(samples.n));
  const protocol = options.protocol ?? 'converged';
  if (protocol !== 'converged' && protocol !== 'as-published') throw new InputError('protocol', "'converged' or 'as-published'", String(protocol));
  const tol = options.tolerance ?? 1e-5;
  const maxIt = options.maxIterations ?? 2000;
  const floor = options.varianceFloor ?? 1e-10;
  const starts = options.starts ?? 1;
  if (!(tol >= 0)) throw new InputError('tolerance', 'a non-negative number', String(tol));
  if (!Number.isInteger(maxIt) || maxIt < 1) throw new InputError('maxIterations', 'a positive integer', String(maxIt));
  if (!(floor > 0)) throw new InputError('varianceFloor', 'a positive number', String(floor));
  if (!Number.isInteger(starts) || starts < 1) throw new InputError('starts', 'a positive integer', String(starts));
  const kind = resolveEmPass(d, options.pass);
  const w = makeWork(samples.n, d, k, kind, samples);
  let best: RunOut | null = null;
  for (let st = 0; st < starts; st++) {
    const start = startFrom(options.init, samples, family, options.rng);
    const out = runOnce(kind, start, samples, w, protocol, tol, maxIt, floor, options.trace === true);
    if (best === null || out.ll > best.ll) best = out;
  }
  const b = best as RunOut;
  return {
    params: b.params,
    measure: gaussianGatedToMeasure(b.params),
    diagnostics: {
      iterations: b.iterations,
      converged: b.converged,
      objective: -b.ll,
      restarts: starts,
      seconds: (performance.now() - t0) / 1000,
      protocol,
      pass: kind,
      logLikelihood: b.ll,
      lastChange: b.lastChange,
      floorHits: b.floorHits,
      emptyComponentUpdates: b.empty,
      ...(b.trace ? { trace: b.trace } : {}),
    },
  };
}

/** The same EM behind the shared `Estimator` contract (protocol 'converged' unless options say otherwise). */
export const emGaussianGated: Estimator<GaussianGatedFamily> = {
  name: 'em-gaussian-gated',
  fit: (family, samples, options) => fitEmGaussianGated(family, samples, options),
};
