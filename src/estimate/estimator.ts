/**
 * The estimator contract (scikit-learn style): configured by options, `fit` learns from samples
 * and returns the fitted mixing measure with diagnostics. Least squares (Levenberg-Marquardt)
 * and EM implement it, so a study can swap one for the other, and the property suite
 * (`convergenceProperty`) can be pointed at any implementation, including a user's own.
 */
import type { MixingMeasure } from '../mixture/measure.js';
import type { Samples } from '../mixture/family.js';
import type { Rng } from '../util/rng.js';

export interface FitDiagnostics {
  readonly iterations: number;
  readonly converged: boolean;
  /** Final objective: mean squared residual for least squares, mean negative log-likelihood for EM. */
  readonly objective: number;
  /** Number of starts tried (the best is returned). */
  readonly restarts: number;
  readonly seconds: number;
  /**
   * Why the (best) run stopped, in the estimator's own words. Least squares: 'ftol' | 'gtol' |
   * 'xtol' | 'exact' (converged), 'maxIterations' (the cap), 'damping' (no decreasing step).
   */
  readonly stopReason?: string;
  /** Every start of a multi-start fit, in order (the best one is `starts[bestStart]`). */
  readonly starts?: ReadonlyArray<StartRecord>;
  readonly bestStart?: number;
}

/** What one start of a fit ended with. */
export interface StartRecord {
  readonly objective: number;
  readonly iterations: number;
  readonly converged: boolean;
  readonly stopReason: string;
}

export interface FitResult {
  readonly measure: MixingMeasure;
  readonly diagnostics: FitDiagnostics;
}

/** How to start: random draws, or the truth perturbed with a scale that may shrink with n. */
export type Init =
  | { readonly kind: 'random' }
  | { readonly kind: 'near'; readonly truth: MixingMeasure; readonly scale: number };

export interface FitOptions {
  readonly rng: Rng;
  readonly init: Init;
  /** Number of starts (best objective wins). */
  readonly starts?: number;
  readonly maxIterations?: number;
  readonly tolerance?: number;
}
// The number of fitted atoms belongs to the family (a family is built for L atoms): an
// over-specified fit is a fit with a family of more atoms than the truth's measure has.

export interface Estimator<Family> {
  readonly name: string;
  fit(family: Family, samples: Samples, options: FitOptions): FitResult;
}
