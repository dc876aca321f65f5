/** Rate fits: slopes on log-log axes with bootstrap intervals, the (log n / n)^gamma form, and verdicts against claims. */
export { fitSlope, fitLogLinear, type LossPoint, type SlopeOptions, type SlopeFit, type NGroup } from './slope.js';
export { fitLogRate, type LogRateFit } from './log-rate.js';
export {
  judgeRate,
  judgeSlope,
  judgeAgainstSlope,
  claimedSlope,
  claimedRateValue,
  describeClaim,
  type ClaimedRate,
  type Verdict,
  type RateVerdict,
} from './verdict.js';
export { quantileSorted, quartiles } from './quantile.js';
export { compileRate, impliedSlope, type CompiledRate } from './claim.js';
