/**
 * A parametric regression family Y = f(theta; X) + eps, eps ~ N(0, sigma^2 I): the shape every
 * least-squares estimator works on. theta is the flat vector of all atoms' parameters (and
 * biases); `toMeasure` / `fromMeasure` translate between it and the mixing measure G.
 * Inputs and outputs are flattened rows of Float64Arrays so hot loops avoid allocation.
 */
import type { MixingMeasure } from './measure.js';

export interface RegressionFamily {
  readonly name: string;
  /** Length of one flattened input x (e.g. N*d for a token matrix). */
  readonly inputDim: number;
  /** Length of one output y (dv). */
  readonly outputDim: number;
  /** Length of theta. */
  readonly nParams: number;
  /** out[0..outputDim) = f(theta; x). */
  predict(theta: Float64Array, x: Float64Array, out: Float64Array): void;
  /** out = f(theta; x) and jac (outputDim x nParams, row-major) = d f / d theta. */
  jacobian(theta: Float64Array, x: Float64Array, out: Float64Array, jac: Float64Array): void;
  toMeasure(theta: Float64Array): MixingMeasure;
  fromMeasure(g: MixingMeasure): Float64Array;
}

/** n samples, row-major: X is n x inputDim, Y is n x outputDim. */
export interface Samples {
  readonly n: number;
  readonly inputDim: number;
  readonly outputDim: number;
  readonly X: Float64Array;
  readonly Y: Float64Array;
}
