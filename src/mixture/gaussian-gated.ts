/**
 * Gaussian-gated mixtures of experts (docs/theory.md §4, gaussian-gated), x in R^d, y scalar:
 *
 *   p_G(y | x) = sum_k pi_k N(x | c_k, Gamma_k) N(y | A_k^T x + b_k, nu_k) / sum_k pi_k N(x | c_k, Gamma_k)
 *
 * and the full generative model behind it: Z ~ Categorical(pi), X | Z=k ~ N(c_k, Gamma_k),
 * Y | X, Z=k ~ N(A_k^T x + b_k, nu_k); the joint density is p(x, y) = sum_k pi_k N(x|c_k,Gamma_k) N(y|A_k^T x + b_k, nu_k).
 * Gamma_k are full d x d covariances (factored by Cholesky through ml-matrix), nu_k scalar
 * expert noise variances. Parameters live in flat Float64Arrays so that EM's loops allocate nothing.
 *
 * As a mixing measure (see measure.ts) each component is an atom with weight pi_k and parameter
 * blocks { c (d), Gamma (d*d, row-major), A (d), b (1), nu (1) }.
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { InputError, describe } from '../util/errors.js';
import { softmaxInto } from '../linalg/mat.js';
import type { Rng } from '../util/rng.js';
import type { Samples } from './family.js';
import type { MixingMeasure } from './measure.js';

export interface GaussianGatedParams {
  /** Dimension of x. */
  readonly d: number;
  /** Number of components (experts). */
  readonly k: number;
  /** Mixing weights, length k (non-negative, summing to 1). */
  readonly pi: Float64Array;
  /** Gate means, k x d row-major. */
  readonly c: Float64Array;
  /** Gate covariances, k blocks of d x d row-major (symmetric positive definite). */
  readonly Gamma: Float64Array;
  /** Expert slopes, k x d row-major. */
  readonly A: Float64Array;
  /** Expert intercepts, length k. */
  readonly b: Float64Array;
  /** Expert noise variances, length k (positive). */
  readonly nu: Float64Array;
}

/** Plain-number form, as written in configs; a scalar stands for a length-1 vector / 1x1 matrix when d = 1. */
export interface GaussianGatedSpec {
  readonly pi: ReadonlyArray<number>;
  readonly c: ReadonlyArray<number | ReadonlyArray<number>>;
  readonly Gamma: ReadonlyArray<number | ReadonlyArray<ReadonlyArray<number>>>;
  readonly A: ReadonlyArray<number | ReadonlyArray<number>>;
  readonly b: ReadonlyArray<number>;
  readonly nu: ReadonlyArray<number>;
}

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * The published type-I truth of arXiv 2305.07572 (its official code), d = 1, k* = 3
 * (docs/theory.md §4, gaussian-gated). Shared object: do not mutate its arrays; copy with `cloneGaussianGated`.
 */
export const PUBLISHED_TYPE_I: GaussianGatedParams = Object.freeze({
  d: 1,
  k: 3,
  pi: Float64Array.of(0.3, 0.4, 0.3),
  c: Float64Array.of(-0.1, 0.1, 0.5),
  Gamma: Float64Array.of(0.042824, 0.0175, 0.01),
  A: Float64Array.of(0.40453951, -0.71428571, 0),
  b: Float64Array.of(0.34045395, -0.32857143, 0.2),
  nu: Float64Array.of(0.00887672, 0.02642857, 0.0175),
});

/** The published slopes of log(type-I loss) on log n for the fitted k (docs/theory.md §4, gaussian-gated). */
export const PUBLISHED_TYPE_I_SLOPES: Readonly<Record<4 | 5, number>> = Object.freeze({ 4: -0.506, 5: -0.505 });

export function cloneGaussianGated(p: GaussianGatedParams): GaussianGatedParams {
  return {
    d: p.d,
    k: p.k,
    pi: Float64Array.from(p.pi),
    c: Float64Array.from(p.c),
    Gamma: Float64Array.from(p.Gamma),
    A: Float64Array.from(p.A),
    b: Float64Array.from(p.b),
    nu: Float64Array.from(p.nu),
  };
}

function vectorOf(v: number | ReadonlyArray<number>, d: number, field: string): number[] {
  const arr = typeof v === 'number' ? [v] : Array.from(v);
  if (arr.length !== d) throw new InputError(field, `a vector of length ${d}`, describe(v));
  return arr;
}

/** Build validated parameters from the plain-number form (d is read off c). */
export function gaussianGated(spec: GaussianGatedSpec, field = 'model'): GaussianGatedParams {
  const k = spec.pi.length;
  if (k < 1) throw new InputError(`${field}.pi`, 'at least one component');
  const c0 = spec.c[0];
  if (c0 === undefined) throw new InputError(`${field}.c`, `${k} gate means`, 'an empty array');
  const d = typeof c0 === 'number' ? 1 : c0.length;
  if (d < 1) throw new InputError(`${field}.c[0]`, 'a non-empty vector');
  for (const [name, arr] of [['c', spec.c], ['Gamma', spec.Gamma], ['A', spec.A], ['b', spec.b], ['nu', spec.nu]] as const) {
    if (arr.length !== k) throw new InputError(`${field}.${name}`, `${k} entries (one per component, as pi)`, describe(arr));
  }
  const p: GaussianGatedParams = {
    d,
    k,
    pi: Float64Array.from(spec.pi),
    c: new Float64Array(k * d),
    Gamma: new Float64Array(k * d * d),
    A: new Float64Array(k * d),
    b: Float64Array.from(spec.b),
    nu: Float64Array.from(spec.nu),
  };
  for (let j = 0; j < k; j++) {
    p.c.set(vectorOf(spec.c[j] as number | number[], d, `${field}.c[${j}]`), j * d);
    p.A.set(vectorOf(spec.A[j] as number | number[], d, `${field}.A[${j}]`), j * d);
    const g = spec.Gamma[j] as number | ReadonlyArray<ReadonlyArray<number>>;
    if (typeof g === 'number') {
      if (d !== 1) throw new InputError(`${field}.Gamma[${j}]`, `a ${d}x${d} matrix`, describe(g));
      p.Gamma[j] = g;
    } else {
      if (g.length !== d) throw new InputError(`${field}.Gamma[${j}]`, `a ${d}x${d} matrix`, describe(g));
      for (let r = 0; r < d; r++) p.Gamma.set(vectorOf(g[r] as ReadonlyArray<number>, d, `${field}.Gamma[${j}][${r}]`), j * d * d + r * d);
    }
  }
  validateGaussianGated(p, field);
  return p;
}

function checkFinite(arr: Float64Array, field: string): void {
  for (let i = 0; i < arr.length; i++) {
    if (!Number.isFinite(arr[i] as number)) throw new InputError(`${field}[${i}]`, 'a finite number', String(arr[i]));
  }
}

/**
 * Check shapes, finiteness, weights (non-negative, summing to 1 within 1e-6), covariances
 * (symmetric positive definite, by Cholesky) and variances (positive). Throws an `InputError`
 * naming the offending field.
 */
export function validateGaussianGated(p: GaussianGatedParams, field = 'model'): void {
  const { d, k } = p;
  if (!Number.isInteger(d) || d < 1) throw new InputError(`${field}.d`, 'a positive integer', String(d));
  if (!Number.isInteger(k) || k < 1) throw new InputError(`${field}.k`, 'a positive integer', String(k));
  const shapes: [string, Float64Array, number][] = [
    ['pi', p.pi, k], ['c', p.c, k * d], ['Gamma', p.Gamma, k * d * d], ['A', p.A, k * d], ['b', p.b, k], ['nu', p.nu, k],
  ];
  for (const [name, arr, len] of shapes) {
    if (arr.length !== len) throw new InputError(`${field}.${name}`, `${len} numbers for k = ${k}, d = ${d}`, `${arr.length}`);
    checkFinite(arr, `${field}.${name}`);
  }
  let total = 0;
  for (let j = 0; j < k; j++) {
    const w = p.pi[j] as number;
    if (w < 0) throw new InputError(`${field}.pi[${j}]`, 'a non-negative weight', String(w));
    total += w;
  }
  if (Math.abs(total - 1) > 1e-6) throw new InputError(`${field}.pi`, 'weights summing to 1', `a sum of ${total}`);
  for (let j = 0; j < k; j++) {
    const nu = p.nu[j] as number;
    if (!(nu > 0)) throw new InputError(`${field}.nu[${j}]`, 'a positive variance', String(nu));
    const g = p.Gamma.subarray(j * d * d, (j + 1) * d * d);
    for (let r = 0; r < d; r++) {
      for (let s = 0; s < r; s++) {
        const a = g[r * d + s] as number;
        const b = g[s * d + r] as number;
        if (Math.abs(a - b) > 1e-12 * (1 + Math.abs(a))) throw new InputError(`${field}.Gamma[${j}]`, 'a symmetric matrix', `entries (${r},${s}) = ${a} and (${s},${r}) = ${b}`);
      }
    }
    if (choleskyInverse(g, d) === null) throw new InputError(`${field}.Gamma[${j}]`, 'a positive-definite covariance', d === 1 ? String(g[0]) : 'a singular or indefinite matrix');
  }
}

/**
 * Cholesky of a symmetric d x d matrix through ml-matrix: returns the inverse of the lower factor
 * L^{-1} (row-major, lower triangular, so that (x-c)^T Gamma^{-1} (x-c) = ||L^{-1}(x-c)||^2) and
 * log det Gamma, or null when the matrix is not positive definite.
 */
export function choleskyInverse(g: ArrayLike<number>, d: number): { Linv: Float64Array; logDet: number } | null {
  if (d === 1) {
    const v = g[0] as number;
    if (!(v > 0) || !Number.isFinite(v)) return null;
    return { Linv: Float64Array.of(1 / Math.sqrt(v)), logDet: Math.log(v) };
  }
  const m = new Matrix(d, d);
  for (let r = 0; r < d; r++) for (let s = 0; s < d; s++) m.set(r, s, 0.5 * ((g[r * d + s] as number) + (g[s * d + r] as number)));
  const chol = new CholeskyDecomposition(m);
  if (!chol.isPositiveDefinite()) return null;
  const L = chol.lowerTriangularMatrix;
  let logDet = 0;
  for (let r = 0; r < d; r++) {
    const lrr = L.get(r, r);
    if (!(lrr > 0)) return null;
    logDet += 2 * Math.log(lrr);
  }
  // Invert the lower-triangular factor by forward substitution, column by column.
  const Linv = new Float64Array(d * d);
  for (let col = 0; col < d; col++) {
    for (let r = col; r < d; r++) {
      let s = r === col ? 1 : 0;
      for (let t = col; t < r; t++) s -= L.get(r, t) * (Linv[t * d + col] as number);
      Linv[r * d + col] = s / L.get(r, r);
    }
  }
  return { Linv, logDet };
}

/** Lower Cholesky factor L (Gamma = L L^T) through ml-matrix, row-major; null if not positive definite. */
export function choleskyFactor(g: ArrayLike<number>, d: number): Float64Array | null {
  if (d === 1) {
    const v = g[0] as number;
    return v > 0 && Number.isFinite(v) ? Float64Array.of(Math.sqrt(v)) : null;
  }
  const m = new Matrix(d, d);
  for (let r = 0; r < d; r++) for (let s = 0; s < d; s++) m.set(r, s, 0.5 * ((g[r * d + s] as number) + (g[s * d + r] as number)));
  const chol = new CholeskyDecomposition(m);
  if (!chol.isPositiveDefinite()) return null;
  const L = chol.lowerTriangularMatrix;
  const out = new Float64Array(d * d);
  for (let r = 0; r < d; r++) for (let s = 0; s <= r; s++) out[r * d + s] = L.get(r, s);
  return out;
}

/** Per-component constants for fast density evaluation. */
export interface PreparedGaussianGated {
  readonly params: GaussianGatedParams;
  /** L_k^{-1}, k blocks of d x d. */
  readonly Linv: Float64Array;
  /** log pi_k - log det(Gamma_k)/2 - d log(2 pi)/2: the gate's log-weight constant. */
  readonly gateConst: Float64Array;
  /** -log(2 pi nu_k)/2. */
  readonly expertConst: Float64Array;
}

export function prepareGaussianGated(p: GaussianGatedParams): PreparedGaussianGated {
  const { d, k } = p;
  const Linv = new Float64Array(k * d * d);
  const gateConst = new Float64Array(k);
  const expertConst = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const ch = choleskyInverse(p.Gamma.subarray(j * d * d, (j + 1) * d * d), d);
    if (ch === null) throw new InputError(`Gamma[${j}]`, 'a positive-definite covariance');
    Linv.set(ch.Linv, j * d * d);
    gateConst[j] = Math.log(p.pi[j] as number) - 0.5 * ch.logDet - 0.5 * d * LOG_2PI;
    expertConst[j] = -0.5 * (LOG_2PI + Math.log(p.nu[j] as number));
  }
  return { params: p, Linv, gateConst, expertConst };
}

/** log(pi_j N(x | c_j, Gamma_j)) for the row x = X[off .. off + d). */
export function logGate(pp: PreparedGaussianGated, j: number, X: ArrayLike<number>, off: number): number {
  const { d } = pp.params;
  const c = pp.params.c;
  const L = pp.Linv;
  const base = j * d * d;
  let q = 0;
  for (let r = 0; r < d; r++) {
    let z = 0;
    for (let s = 0; s <= r; s++) z += (L[base + r * d + s] as number) * ((X[off + s] as number) - (c[j * d + s] as number));
    q += z * z;
  }
  return (pp.gateConst[j] as number) - 0.5 * q;
}

/** Expert mean A_j^T x + b_j for the row x = X[off .. off + d). */
export function gatedExpertMean(p: GaussianGatedParams, j: number, X: ArrayLike<number>, off: number): number {
  const { d } = p;
  let m = p.b[j] as number;
  for (let s = 0; s < d; s++) m += (p.A[j * d + s] as number) * (X[off + s] as number);
  return m;
}

/** Gate probabilities at x (row `off` of X) into out[0..k). */
export function gateProbabilities(pp: PreparedGaussianGated, X: ArrayLike<number>, off: number, out: Float64Array): void {
  const { k } = pp.params;
  for (let j = 0; j < k; j++) out[j] = logGate(pp, j, X, off);
  softmaxInto(out.subarray(0, k), out);
}

/** Regression function f_G(x) = E[Y | X = x] = sum_j gate_j(x) (A_j^T x + b_j), for each row of X (n x d). */
export function regressionFunction(p: GaussianGatedParams, X: Float64Array, n = X.length / p.d): Float64Array {
  const pp = prepareGaussianGated(p);
  const out = new Float64Array(n);
  const g = new Float64Array(p.k);
  for (let i = 0; i < n; i++) {
    gateProbabilities(pp, X, i * p.d, g);
    let f = 0;
    for (let j = 0; j < p.k; j++) f += (g[j] as number) * gatedExpertMean(p, j, X, i * p.d);
    out[i] = f;
  }
  return out;
}

function logSumExp(v: Float64Array, k: number): number {
  let mx = -Infinity;
  for (let j = 0; j < k; j++) if ((v[j] as number) > mx) mx = v[j] as number;
  if (mx === -Infinity) return -Infinity;
  let s = 0;
  for (let j = 0; j < k; j++) s += Math.exp((v[j] as number) - mx);
  return mx + Math.log(s);
}

/** Mean joint log-density (1/n) sum_i log p(x_i, y_i): the objective EM climbs. */
export function jointLogLikelihood(p: GaussianGatedParams, s: Samples): number {
  const pp = prepareGaussianGated(p);
  const { d, k } = p;
  const v = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < s.n; i++) {
    const y = s.Y[i] as number;
    for (let j = 0; j < k; j++) {
      const r = y - gatedExpertMean(p, j, s.X, i * d);
      v[j] = logGate(pp, j, s.X, i * d) + (pp.expertConst[j] as number) - (0.5 * r * r) / (p.nu[j] as number);
    }
    total += logSumExp(v, k);
  }
  return total / s.n;
}

/** Mean conditional log-density (1/n) sum_i log p_G(y_i | x_i). */
export function conditionalLogLikelihood(p: GaussianGatedParams, s: Samples): number {
  const pp = prepareGaussianGated(p);
  const { d, k } = p;
  const v = new Float64Array(k);
  const w = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < s.n; i++) {
    const y = s.Y[i] as number;
    for (let j = 0; j < k; j++) {
      const lg = logGate(pp, j, s.X, i * d);
      const r = y - gatedExpertMean(p, j, s.X, i * d);
      w[j] = lg;
      v[j] = lg + (pp.expertConst[j] as number) - (0.5 * r * r) / (p.nu[j] as number);
    }
    total += logSumExp(v, k) - logSumExp(w, k);
  }
  return total / s.n;
}

/** Samples of the generative model, with the latent component of each row. */
export interface GaussianGatedSamples extends Samples {
  /** Component z_i that generated row i. */
  readonly labels: Int32Array;
}

/** Draw z from Categorical(pi) by inversion. */
function drawCategorical(pi: Float64Array, u: number): number {
  let acc = 0;
  for (let j = 0; j < pi.length; j++) {
    acc += pi[j] as number;
    if (u < acc) return j;
  }
  return pi.length - 1;
}

/**
 * The full generative sampler: Z ~ Categorical(pi); X ~ N(c_Z, Gamma_Z) (through the Cholesky
 * factor); Y ~ N(A_Z^T X + b_Z, nu_Z). Seeded through `rng`.
 */
export function sampleGaussianGated(p: GaussianGatedParams, n: number, rng: Rng): GaussianGatedSamples {
  if (!Number.isInteger(n) || n < 1) throw new InputError('n', 'a positive integer', String(n));
  validateGaussianGated(p);
  const { d, k } = p;
  const L: Float64Array[] = [];
  for (let j = 0; j < k; j++) L.push(choleskyFactor(p.Gamma.subarray(j * d * d, (j + 1) * d * d), d) as Float64Array);
  const X = new Float64Array(n * d);
  const Y = new Float64Array(n);
  const labels = new Int32Array(n);
  const z = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const j = drawCategorical(p.pi, rng.uniform());
    labels[i] = j;
    for (let r = 0; r < d; r++) z[r] = rng.normal();
    const Lj = L[j] as Float64Array;
    for (let r = 0; r < d; r++) {
      let v = p.c[j * d + r] as number;
      for (let s = 0; s <= r; s++) v += (Lj[r * d + s] as number) * (z[s] as number);
      X[i * d + r] = v;
    }
    Y[i] = gatedExpertMean(p, j, X, i * d) + Math.sqrt(p.nu[j] as number) * rng.normal();
  }
  return { n, inputDim: d, outputDim: 1, X, Y, labels };
}

/** Number of free parameters: (k - 1) weights + k (d + d(d+1)/2 + d + 1 + 1). */
export function gaussianGatedParamCount(d: number, k: number): number {
  return k - 1 + k * (d + (d * (d + 1)) / 2 + d + 2);
}

/** The mixing measure: atom j has weight pi_j and blocks { c, Gamma, A, b, nu }. */
export function gaussianGatedToMeasure(p: GaussianGatedParams): MixingMeasure {
  const { d } = p;
  const atoms = [];
  for (let j = 0; j < p.k; j++) {
    atoms.push({
      weight: p.pi[j] as number,
      params: {
        c: p.c.slice(j * d, (j + 1) * d),
        Gamma: p.Gamma.slice(j * d * d, (j + 1) * d * d),
        A: p.A.slice(j * d, (j + 1) * d),
        b: p.b.slice(j, j + 1),
        nu: p.nu.slice(j, j + 1),
      },
    });
  }
  return { atoms };
}

/** Inverse of `gaussianGatedToMeasure` (weights default to uniform when absent). */
export function gaussianGatedFromMeasure(g: MixingMeasure, field = 'measure'): GaussianGatedParams {
  const k = g.atoms.length;
  if (k < 1) throw new InputError(`${field}.atoms`, 'at least one atom');
  const first = g.atoms[0];
  const c0 = first?.params.c;
  if (c0 === undefined) throw new InputError(`${field}.atoms[0].params.c`, 'a gate mean');
  const d = c0.length;
  const p: GaussianGatedParams = {
    d, k,
    pi: new Float64Array(k), c: new Float64Array(k * d), Gamma: new Float64Array(k * d * d),
    A: new Float64Array(k * d), b: new Float64Array(k), nu: new Float64Array(k),
  };
  g.atoms.forEach((a, j) => {
    const need: [string, number][] = [['c', d], ['Gamma', d * d], ['A', d], ['b', 1], ['nu', 1]];
    for (const [name, len] of need) {
      const v = a.params[name];
      if (v === undefined || v.length !== len) throw new InputError(`${field}.atoms[${j}].params.${name}`, `${len} numbers`, v === undefined ? 'nothing' : String(v.length));
    }
    p.pi[j] = a.weight ?? 1 / k;
    p.c.set(a.params.c as Float64Array, j * d);
    p.Gamma.set(a.params.Gamma as Float64Array, j * d * d);
    p.A.set(a.params.A as Float64Array, j * d);
    p.b[j] = (a.params.b as Float64Array)[0] as number;
    p.nu[j] = (a.params.nu as Float64Array)[0] as number;
  });
  validateGaussianGated(p, field);
  return p;
}

/** Check a sample set for a d-dimensional Gaussian-gated model: shapes and finiteness. */
export function validateGaussianGatedSamples(s: Samples, d: number, field = 'samples'): void {
  if (!Number.isInteger(s.n) || s.n < 1) throw new InputError(`${field}.n`, 'a positive integer', String(s.n));
  if (s.inputDim !== d) throw new InputError(`${field}.inputDim`, `${d} (the model's d)`, String(s.inputDim));
  if (s.outputDim !== 1) throw new InputError(`${field}.outputDim`, '1 (scalar y)', String(s.outputDim));
  if (s.X.length !== s.n * d) throw new InputError(`${field}.X`, `${s.n * d} numbers (n x d)`, String(s.X.length));
  if (s.Y.length !== s.n) throw new InputError(`${field}.Y`, `${s.n} numbers`, String(s.Y.length));
  checkFinite(s.X, `${field}.X`);
  checkFinite(s.Y, `${field}.Y`);
}
