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
  /**
   * Optional fast path for repeated passes over one fixed sample set (least squares): computes
   * once whatever does not depend on theta and returns per-sample evaluators equal to
   * `predict` / `jacobian` on row i of samples.X (to rounding).
   */
  prepare?(samples: Samples): PreparedFamily;
}

/**
 * A family bound to one sample set (from `RegressionFamily.prepare`). Call `bind(theta)` before
 * evaluating at a new theta (it computes the parameter-only quantities); then `predictRows` and
 * `jacobianRows` evaluate a run of consecutive samples i0 <= i < i0 + count (count >= 1,
 * i0 + count <= n; not validated) in one pass, allocating nothing once a count has been seen.
 */
export interface PreparedFamily {
  /** Set the parameters for the following evaluations (throws InputError on a wrong length). */
  bind(theta: Float64Array): void;
  /** out[t q + r] = f_r(theta; x_{i0 + t}) for t < count (q = outputDim). */
  predictRows(i0: number, count: number, out: Float64Array): void;
  /**
   * out as `predictRows`, and jt[a * stride + t q + r] = d f_r(theta; x_{i0 + t}) / d theta_a:
   * the rows of J for these samples, transposed, so they land straight in a block of J^T
   * (stride >= count q).
   */
  jacobianRows(i0: number, count: number, out: Float64Array, jt: Float64Array, stride: number): void;
  /**
   * Optional: first columns o of blocks of outputDim columns with d f_r / d theta_{o + c} =
   * s(x) delta_{rc} (an expert's output entering linearly with its gate s). `jacobianRows` still
   * writes them in full; least squares then folds them into J^T J from the scalar s alone.
   */
  readonly identityBlocks?: ReadonlyArray<number>;
  /** Approximate floating-point operations of the Jacobian of one sample. */
  readonly flopsPerJacobian: number;
}

/** n samples, row-major: X is n x inputDim, Y is n x outputDim. */
export interface Samples {
  readonly n: number;
  readonly inputDim: number;
  readonly outputDim: number;
  readonly X: Float64Array;
  readonly Y: Float64Array;
}
