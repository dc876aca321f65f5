/**
 * Softmax-gated Gaussian mixture of experts (arXiv 2305.03288), x in R^d, y scalar:
 *
 *   p_G(y | x) = sum_k g_k(x) N(y | a_k^T x + b_k, nu_k),   g_k(x) = softmax_k(beta0_k + beta_k^T x).
 *
 * The gate is unchanged when the same (beta0, beta) is added to every component, so the
 * parameters are identifiable only up to that translation; `anchorLast` picks the
 * representative whose last component has beta0 = 0, beta = 0 (the multinomial-logit reference
 * class, as the least-squares families of softmax-moe.ts do with `anchor: 'last'`).
 *
 * As a mixing measure, component k is an atom with weight exp(beta0_k) and blocks
 * { beta (d), a (d), b (1), nu (1) }.
 *
 * Conventions: temperature 1 (logits beta0_k + beta_k^T x, no scaling); the bias beta0_k is the
 * log-weight of the atom; nu_k is a variance, not a standard deviation. To compare two
 * measures, put both in the canonical form of gates/canonical.ts (weights summing to 1,
 * weighted mean gate slope 0), which removes the translation.
 */
import { InputError } from '../util/errors.js';
import { softmaxInto } from '../linalg/mat.js';
import type { Rng } from '../util/rng.js';
import type { Samples } from './family.js';
import type { MixingMeasure } from './measure.js';
import { sampleInputs, type InputSpec } from './sample.js';

export interface SoftmaxGaussianParams {
  readonly d: number;
  readonly k: number;
  /** Gate biases, length k. */
  readonly beta0: Float64Array;
  /** Gate slopes, k x d row-major. */
  readonly beta: Float64Array;
  /** Expert slopes, k x d row-major. */
  readonly a: Float64Array;
  /** Expert intercepts, length k. */
  readonly b: Float64Array;
  /** Expert noise variances, length k (positive). */
  readonly nu: Float64Array;
}

export interface SoftmaxGaussianSpec {
  readonly beta0: ReadonlyArray<number>;
  readonly beta: ReadonlyArray<ReadonlyArray<number>>;
  readonly a: ReadonlyArray<ReadonlyArray<number>>;
  readonly b: ReadonlyArray<number>;
  readonly nu: ReadonlyArray<number>;
}

const LOG_2PI = Math.log(2 * Math.PI);

export function cloneSoftmaxGaussian(p: SoftmaxGaussianParams): SoftmaxGaussianParams {
  return { d: p.d, k: p.k, beta0: Float64Array.from(p.beta0), beta: Float64Array.from(p.beta), a: Float64Array.from(p.a), b: Float64Array.from(p.b), nu: Float64Array.from(p.nu) };
}

/** Build validated parameters from nested arrays (d read off beta[0]). */
export function softmaxGaussian(spec: SoftmaxGaussianSpec, field = 'model'): SoftmaxGaussianParams {
  const k = spec.beta0.length;
  const d = spec.beta[0]?.length ?? 0;
  for (const [name, arr] of [['beta', spec.beta], ['a', spec.a], ['b', spec.b], ['nu', spec.nu]] as const) {
    if (arr.length !== k) throw new InputError(`${field}.${name}`, `${k} entries (one per component, as beta0)`, String(arr.length));
  }
  const p: SoftmaxGaussianParams = {
    d, k,
    beta0: Float64Array.from(spec.beta0), beta: new Float64Array(k * d), a: new Float64Array(k * d),
    b: Float64Array.from(spec.b), nu: Float64Array.from(spec.nu),
  };
  for (let j = 0; j < k; j++) {
    const bj = spec.beta[j] as ReadonlyArray<number>;
    const aj = spec.a[j] as ReadonlyArray<number>;
    if (bj.length !== d) throw new InputError(`${field}.beta[${j}]`, `a vector of length ${d}`, String(bj.length));
    if (aj.length !== d) throw new InputError(`${field}.a[${j}]`, `a vector of length ${d}`, String(aj.length));
    p.beta.set(bj, j * d);
    p.a.set(aj, j * d);
  }
  validateSoftmaxGaussian(p, field);
  return p;
}

export function validateSoftmaxGaussian(p: SoftmaxGaussianParams, field = 'model'): void {
  const { d, k } = p;
  if (!Number.isInteger(d) || d < 1) throw new InputError(`${field}.d`, 'a positive integer', String(d));
  if (!Number.isInteger(k) || k < 1) throw new InputError(`${field}.k`, 'a positive integer', String(k));
  const shapes: [string, Float64Array, number][] = [['beta0', p.beta0, k], ['beta', p.beta, k * d], ['a', p.a, k * d], ['b', p.b, k], ['nu', p.nu, k]];
  for (const [name, arr, len] of shapes) {
    if (arr.length !== len) throw new InputError(`${field}.${name}`, `${len} numbers for k = ${k}, d = ${d}`, String(arr.length));
    for (let i = 0; i < arr.length; i++) if (!Number.isFinite(arr[i] as number)) throw new InputError(`${field}.${name}[${i}]`, 'a finite number', String(arr[i]));
  }
  for (let j = 0; j < k; j++) if (!((p.nu[j] as number) > 0)) throw new InputError(`${field}.nu[${j}]`, 'a positive variance', String(p.nu[j]));
}

/** The same model with the last component's gate parameters moved to 0 (a new object). */
export function anchorLast(p: SoftmaxGaussianParams): SoftmaxGaussianParams {
  const q = cloneSoftmaxGaussian(p);
  const { d, k } = p;
  const b0 = p.beta0[k - 1] as number;
  for (let j = 0; j < k; j++) {
    q.beta0[j] = (p.beta0[j] as number) - b0;
    for (let t = 0; t < d; t++) q.beta[j * d + t] = (p.beta[j * d + t] as number) - (p.beta[(k - 1) * d + t] as number);
  }
  return q;
}

/** Gate probabilities at row `off` of X into out[0..k). */
export function softmaxGates(p: SoftmaxGaussianParams, X: ArrayLike<number>, off: number, out: Float64Array): void {
  const { d, k } = p;
  for (let j = 0; j < k; j++) {
    let s = p.beta0[j] as number;
    for (let t = 0; t < d; t++) s += (p.beta[j * d + t] as number) * (X[off + t] as number);
    out[j] = s;
  }
  softmaxInto(out.subarray(0, k), out);
}

function expertMean(p: SoftmaxGaussianParams, j: number, X: ArrayLike<number>, off: number): number {
  let m = p.b[j] as number;
  for (let t = 0; t < p.d; t++) m += (p.a[j * p.d + t] as number) * (X[off + t] as number);
  return m;
}

/** f_G(x) = E[Y | x] = sum_k g_k(x) (a_k^T x + b_k) for each row of X. */
export function softmaxGaussianMean(p: SoftmaxGaussianParams, X: Float64Array): Float64Array {
  const n = X.length / p.d;
  const out = new Float64Array(n);
  const g = new Float64Array(p.k);
  for (let i = 0; i < n; i++) {
    softmaxGates(p, X, i * p.d, g);
    let f = 0;
    for (let j = 0; j < p.k; j++) f += (g[j] as number) * expertMean(p, j, X, i * p.d);
    out[i] = f;
  }
  return out;
}

/** Mean conditional log-likelihood (1/n) sum_i log p_G(y_i | x_i). */
export function softmaxGaussianLogLikelihood(p: SoftmaxGaussianParams, s: Samples): number {
  const g = new Float64Array(p.k);
  let total = 0;
  for (let i = 0; i < s.n; i++) {
    softmaxGates(p, s.X, i * p.d, g);
    let dens = 0;
    for (let j = 0; j < p.k; j++) {
      const r = (s.Y[i] as number) - expertMean(p, j, s.X, i * p.d);
      const nu = p.nu[j] as number;
      dens += (g[j] as number) * Math.exp(-0.5 * (LOG_2PI + Math.log(nu)) - (0.5 * r * r) / nu);
    }
    total += Math.log(dens);
  }
  return total / s.n;
}

export interface SoftmaxGaussianSamples extends Samples {
  readonly labels: Int32Array;
}

/**
 * Seeded sampler: X from `inputs` (Gaussian, uniform or fixed design; see sample.ts), then
 * Z | X ~ Categorical(g(X)), Y | X, Z ~ N(a_Z^T X + b_Z, nu_Z).
 */
export function sampleSoftmaxGaussian(p: SoftmaxGaussianParams, inputs: InputSpec, n: number, rng: Rng): SoftmaxGaussianSamples {
  validateSoftmaxGaussian(p);
  const X = sampleInputs(inputs, n, rng);
  if (X.length !== n * p.d) throw new InputError('inputs.dim', `${p.d} (the model's d)`, String(X.length / n));
  return sampleSoftmaxGaussianAt(p, X, rng);
}

/** Responses at given inputs X (n x d, row-major): Z | X ~ Categorical(g(X)), Y | X, Z ~ N(a_Z^T X + b_Z, nu_Z). */
export function sampleSoftmaxGaussianAt(p: SoftmaxGaussianParams, X: Float64Array, rng: Rng): SoftmaxGaussianSamples {
  if (X.length % p.d !== 0 || X.length === 0) throw new InputError('X', `a non-empty array whose length is a multiple of d (${p.d})`, String(X.length));
  const n = X.length / p.d;
  const Y = new Float64Array(n);
  const labels = new Int32Array(n);
  const g = new Float64Array(p.k);
  for (let i = 0; i < n; i++) {
    softmaxGates(p, X, i * p.d, g);
    const u = rng.uniform();
    let acc = 0;
    let z = p.k - 1;
    for (let j = 0; j < p.k; j++) {
      acc += g[j] as number;
      if (u < acc) { z = j; break; }
    }
    labels[i] = z;
    Y[i] = expertMean(p, z, X, i * p.d) + Math.sqrt(p.nu[z] as number) * rng.normal();
  }
  return { n, inputDim: p.d, outputDim: 1, X, Y, labels };
}

/** Atom j: weight exp(beta0_j), blocks { beta, a, b, nu }. */
export function softmaxGaussianToMeasure(p: SoftmaxGaussianParams): MixingMeasure {
  const { d } = p;
  // A gate that EM drove off (separable responsibilities) can have exp(beta0) overflow. The
  // weights are identified only up to a common factor (the canonical form normalises them), so
  // then every bias is shifted by the largest; below the overflow nothing changes, bit for bit.
  let top = -Infinity;
  for (let j = 0; j < p.k; j++) top = Math.max(top, p.beta0[j] as number);
  const shift = top > 700 ? top : 0;
  const atoms = [];
  for (let j = 0; j < p.k; j++) {
    atoms.push({
      weight: Math.exp((p.beta0[j] as number) - shift),
      params: { beta: p.beta.slice(j * d, (j + 1) * d), a: p.a.slice(j * d, (j + 1) * d), b: p.b.slice(j, j + 1), nu: p.nu.slice(j, j + 1) },
    });
  }
  return { atoms };
}

export function softmaxGaussianFromMeasure(g: MixingMeasure, field = 'measure'): SoftmaxGaussianParams {
  const k = g.atoms.length;
  const d = g.atoms[0]?.params.beta?.length ?? 0;
  if (k < 1 || d < 1) throw new InputError(`${field}.atoms`, 'at least one atom with a gate slope beta');
  const p: SoftmaxGaussianParams = { d, k, beta0: new Float64Array(k), beta: new Float64Array(k * d), a: new Float64Array(k * d), b: new Float64Array(k), nu: new Float64Array(k) };
  g.atoms.forEach((atom, j) => {
    for (const [name, len] of [['beta', d], ['a', d], ['b', 1], ['nu', 1]] as const) {
      const v = atom.params[name];
      if (v === undefined || v.length !== len) throw new InputError(`${field}.atoms[${j}].params.${name}`, `${len} numbers`, v === undefined ? 'nothing' : String(v.length));
    }
    const w = atom.weight ?? 1;
    if (!(w > 0)) throw new InputError(`${field}.atoms[${j}].weight`, 'a positive weight exp(beta0)', String(w));
    p.beta0[j] = Math.log(w);
    p.beta.set(atom.params.beta as Float64Array, j * d);
    p.a.set(atom.params.a as Float64Array, j * d);
    p.b[j] = (atom.params.b as Float64Array)[0] as number;
    p.nu[j] = (atom.params.nu as Float64Array)[0] as number;
  });
  validateSoftmaxGaussian(p, field);
  return p;
}
