/**
 * Fit of the (log n / n)^gamma form: loss ~ C (log n / n)^gamma, i.e.
 *
 *   log L = log C + gamma log(log n / n),
 *
 * by OLS of log loss on log(log n / n) with the same t and bootstrap intervals as slope.ts
 * (replications resampled within each n). Needs n > 1 (log n / n > 0). Note gamma > 0 for a
 * decreasing loss, and a rate sqrt(log n / n) is gamma = 1/2.
 */
import { InputError } from '../util/errors.js';
import { type LossPoint, type SlopeFit, type SlopeOptions, fitLogLinear } from './slope.js';

export interface LogRateFit {
  /** Exponent gamma of (log n / n). */
  readonly gamma: number;
  /** Constant C = exp(intercept). */
  readonly C: number;
  /** Interval for gamma at `fit.level` (bootstrap percentile). */
  readonly ci: readonly [number, number];
  /** The underlying regression (slope = gamma, regressor log(log n / n)). */
  readonly fit: SlopeFit;
}

export function fitLogRate(points: ReadonlyArray<LossPoint>, options: SlopeOptions = {}): LogRateFit {
  points.forEach((p, i) => {
    if (!(p.n > 1)) throw new InputError(`points[${i}].n`, 'a sample size > 1 (log n / n must be positive)', String(p.n));
  });
  const fit = fitLogLinear(points, (n) => Math.log(Math.log(n) / n), options, 'log(log n / n)');
  return { gamma: fit.slope, C: Math.exp(fit.intercept), ci: fit.ci, fit };
}
