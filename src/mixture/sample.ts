/**
 * Seeded samplers for the regression model Y = f(theta; X) + eps, eps ~ N(0, sigma^2 I):
 * inputs X from a Gaussian, a uniform box, or a fixed design (given points, cycled), and
 * responses from any `RegressionFamily`. Every draw goes through an `Rng`, so a seed fixes
 * the data.
 */
import { InputError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import type { RegressionFamily, Samples } from './family.js';
import type { MixingMeasure } from './measure.js';

export type InputSpec =
  /** x ~ N(mean, sd^2 I) (mean 0, sd 1 by default). */
  | { readonly kind: 'gaussian'; readonly dim: number; readonly mean?: number | ReadonlyArray<number>; readonly sd?: number }
  /** x ~ Uniform[low, high]^dim (default [-1, 1]). */
  | { readonly kind: 'uniform'; readonly dim: number; readonly low?: number; readonly high?: number }
  /** Fixed design: row i of the sample is points[i mod points.length] (a replicated design). */
  | { readonly kind: 'fixed'; readonly points: ReadonlyArray<ReadonlyArray<number>> };

function checkN(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new InputError('n', 'an integer >= 1', String(n));
}

/** Dimension of the inputs a spec draws. */
export function inputSpecDim(spec: InputSpec): number {
  return spec.kind === 'fixed' ? (spec.points[0]?.length ?? 0) : spec.dim;
}

/** n x dim inputs, row-major. */
export function sampleInputs(spec: InputSpec, n: number, rng: Rng): Float64Array {
  checkN(n);
  switch (spec.kind) {
    case 'gaussian': {
      const d = spec.dim;
      if (!Number.isInteger(d) || d < 1) throw new InputError('inputs.dim', 'an integer >= 1', String(d));
      const sd = spec.sd ?? 1;
      if (!(sd > 0) || !Number.isFinite(sd)) throw new InputError('inputs.sd', 'a finite number > 0', String(sd));
      const m = spec.mean ?? 0;
      const mean = typeof m === 'number' ? new Float64Array(d).fill(m) : Float64Array.from(m);
      if (mean.length !== d) throw new InputError('inputs.mean', `a number or an array of length ${d}`, `length ${mean.length}`);
      if (!mean.every(Number.isFinite)) throw new InputError('inputs.mean', 'finite numbers');
      const X = new Float64Array(n * d);
      for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) X[i * d + k] = (mean[k] as number) + sd * rng.normal();
      return X;
    }
    case 'uniform': {
      const d = spec.dim;
      if (!Number.isInteger(d) || d < 1) throw new InputError('inputs.dim', 'an integer >= 1', String(d));
      const lo = spec.low ?? -1;
      const hi = spec.high ?? 1;
      if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(hi > lo)) throw new InputError('inputs.high', `a finite number > low (${lo})`, String(hi));
      const X = new Float64Array(n * d);
      for (let i = 0; i < n * d; i++) X[i] = lo + (hi - lo) * rng.uniform();
      return X;
    }
    case 'fixed': {
      const pts = spec.points;
      if (pts.length === 0) throw new InputError('inputs.points', 'at least one point');
      const d = (pts[0] as ReadonlyArray<number>).length;
      if (d < 1) throw new InputError('inputs.points[0]', 'a non-empty array');
      pts.forEach((p, i) => {
        if (p.length !== d) throw new InputError(`inputs.points[${i}]`, `an array of length ${d}`, `length ${p.length}`);
        p.forEach((v, k) => {
          if (!Number.isFinite(v)) throw new InputError(`inputs.points[${i}][${k}]`, 'a finite number', String(v));
        });
      });
      const X = new Float64Array(n * d);
      for (let i = 0; i < n; i++) X.set(pts[i % pts.length] as ReadonlyArray<number>, i * d);
      return X;
    }
    default:
      throw new InputError('inputs.kind', "'gaussian', 'uniform' or 'fixed'", String((spec as { kind: unknown }).kind));
  }
}

/** Responses Y = f(theta; X) + sigma * N(0, I) for the rows of X. */
export function sampleResponses(family: RegressionFamily, theta: Float64Array, X: Float64Array, sigma: number, rng: Rng): Samples {
  const D = family.inputDim;
  const q = family.outputDim;
  if (theta.length !== family.nParams) throw new InputError('theta', `an array of length ${family.nParams}`, `length ${theta.length}`);
  if (X.length % D !== 0 || X.length === 0) throw new InputError('X', `a non-empty array whose length is a multiple of inputDim (${D})`, `length ${X.length}`);
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new InputError('sigma', 'a finite number >= 0', String(sigma));
  const n = X.length / D;
  const Y = new Float64Array(n * q);
  const x = new Float64Array(D);
  const y = new Float64Array(q);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < D; k++) x[k] = X[i * D + k] as number;
    family.predict(theta, x, y);
    for (let r = 0; r < q; r++) Y[i * q + r] = (y[r] as number) + sigma * rng.normal();
  }
  return { n, inputDim: D, outputDim: q, X, Y };
}

export interface SimulateOptions {
  readonly family: RegressionFamily;
  /** The true mixing measure (as many atoms as `family` has). */
  readonly truth: MixingMeasure;
  readonly inputs: InputSpec;
  readonly n: number;
  /** Noise standard deviation sigma. */
  readonly sigma: number;
  readonly rng: Rng;
}

/** Samples of size n from the model with mixing measure `truth`: X from `inputs`, then Y. */
export function simulate(options: SimulateOptions): Samples {
  const { family, truth, inputs, n, sigma, rng } = options;
  const dim = inputSpecDim(inputs);
  if (dim !== family.inputDim) throw new InputError('inputs.dim', `${family.inputDim} (the family's inputDim)`, String(dim));
  const theta = family.fromMeasure(truth);
  const X = sampleInputs(inputs, n, rng);
  return sampleResponses(family, theta, X, sigma, rng);
}
