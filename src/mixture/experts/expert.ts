/**
 * Expert families: e(x; eta) in R^q with its Jacobian in the parameters eta (and in x).
 * Parameters live in a flat Float64Array at an offset; Jacobians are written into a caller's
 * row-major buffer with a given row stride and column offset, so a mixture can write each
 * expert's block straight into its own Jacobian without copies.
 */
import type { ParamBlock } from '../gates/score.js';

export interface ExpertFamily {
  readonly kind: string;
  readonly inputDim: number;
  readonly outputDim: number;
  readonly blocks: ReadonlyArray<ParamBlock>;
  readonly nParams: number;
  /** out[ooff + r] = e_r(x; eta), eta = p[off .. off + nParams). */
  value(p: Float64Array, off: number, x: Float64Array, out: Float64Array, ooff: number): void;
  /**
   * out[ooff + r] = e_r(x) and jac[r * stride + joff + k] = d e_r / d eta_k for every r < q and
   * k < nParams (every entry of the block is written).
   */
  jacobian(p: Float64Array, off: number, x: Float64Array, out: Float64Array, ooff: number, jac: Float64Array, stride: number, joff: number): void;
  /** jac[r * inputDim + k] = d e_r / d x_k (q x d). */
  jacobianInput(p: Float64Array, off: number, x: Float64Array, jac: Float64Array): void;
}
