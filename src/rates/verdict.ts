/**
 * Verdicts of a measured slope against a rate claimed in the literature.
 *
 * Claims (typed): { kind: 'power', exponent }       L ~ n^exponent             (e.g. -1/2)
 *                 { kind: 'logpower', gamma }       L ~ (log n / n)^gamma      (e.g. 1/2 for sqrt(log n / n))
 *                 { kind: 'inverse-log', tau }      L ~ 1 / (log n)^tau        (slower than any power)
 *
 * Only the power claim has a constant slope on log-log axes. For the other two the claim is
 * turned into the slope it implies over the measured n range: the OLS slope of log rate(n) on
 * log n at the study's own design points (each n with its replication count), exactly the
 * regression the measured slope comes from. For (log n / n)^gamma the local slope is
 * gamma (1/log n - 1), for 1/log^tau n it is -tau / log n, so these implied slopes depend on the
 * n range and are reported with the verdict.
 *
 * Verdict at the fit's level (95% by default): 'consistent' if the implied slope lies in the
 * measured interval, 'faster' if the whole interval lies below it (loss falls faster than
 * claimed), 'slower' if it lies above.
 */
import { InputError } from '../util/errors.js';
import type { SlopeFit } from './slope.js';
import { impliedSlope } from './claim.js';

export type ClaimedRate =
  | { readonly kind: 'power'; readonly exponent: number }
  | { readonly kind: 'logpower'; readonly gamma: number }
  | { readonly kind: 'inverse-log'; readonly tau: number };

export type Verdict = 'consistent' | 'faster' | 'slower';

export interface RateVerdict {
  readonly verdict: Verdict;
  readonly claim: ClaimedRate;
  /** The claim as text, e.g. "n^-0.5". */
  readonly claimText: string;
  /** The slope the claim implies over the measured n range (see the header). */
  readonly claimedSlope: number;
  readonly slope: number;
  readonly ci: readonly [number, number];
  readonly level: number;
  /** One sentence: what was compared. */
  readonly note: string;
}

/** The claimed rate's value at n (up to its constant). */
export function claimedRateValue(claim: ClaimedRate, n: number): number {
  switch (claim.kind) {
    case 'power':
      return Math.pow(n, claim.exponent);
    case 'logpower':
      return Math.pow(Math.log(n) / n, claim.gamma);
    case 'inverse-log':
      return Math.pow(Math.log(n), -claim.tau);
  }
}

export function describeClaim(claim: ClaimedRate): string {
  const f = (v: number): string => String(Number(v.toPrecision(4)));
  switch (claim.kind) {
    case 'power':
      return `n^${f(claim.exponent)}`;
    case 'logpower':
      return `(log n / n)^${f(claim.gamma)}`;
    case 'inverse-log':
      return `1 / log^${f(claim.tau)} n`;
  }
}

function checkClaim(claim: ClaimedRate): void {
  const v = claim.kind === 'power' ? claim.exponent : claim.kind === 'logpower' ? claim.gamma : claim.kind === 'inverse-log' ? claim.tau : NaN;
  if (!Number.isFinite(v)) throw new InputError('claim', "{ kind: 'power', exponent } | { kind: 'logpower', gamma } | { kind: 'inverse-log', tau } with a finite number", JSON.stringify(claim));
}

/**
 * Slope of log claimedRateValue(n) on log n over the design (n with multiplicities). For a power
 * claim this is its exponent whatever the design.
 */
export function claimedSlope(claim: ClaimedRate, design: ReadonlyArray<{ readonly n: number; readonly count?: number }>): number {
  checkClaim(claim);
  if (claim.kind === 'power') return claim.exponent;
  design.forEach((g, i) => {
    if (!(g.n > 1)) throw new InputError(`design[${i}].n`, 'a sample size > 1', String(g.n));
  });
  return impliedSlope({ value: (n) => claimedRateValue(claim, n) }, design);
}

/** Compare an interval with a slope: consistent / faster / slower. */
export function judgeSlope(ci: readonly [number, number], slope: number): Verdict {
  if (slope < ci[0]) return 'slower';
  if (slope > ci[1]) return 'faster';
  return 'consistent';
}

/** Verdict of a slope fit (slope.ts) against a claimed rate, over the fit's own n range. */
export function judgeRate(fit: SlopeFit, claim: ClaimedRate): RateVerdict {
  const cs = claimedSlope(claim, fit.groups);
  const verdict = judgeSlope(fit.ci, cs);
  const nMin = fit.groups[0]?.n ?? NaN;
  const nMax = fit.groups[fit.groups.length - 1]?.n ?? NaN;
  const pct = Math.round(fit.level * 100);
  const implied = claim.kind === 'power' ? '' : ` (the slope it implies for n in [${nMin}, ${nMax}])`;
  const note = `measured slope ${fit.slope.toFixed(3)} [${fit.ci[0].toFixed(3)}, ${fit.ci[1].toFixed(3)}] (${pct}%) against ${describeClaim(claim)}: ${cs.toFixed(3)}${implied}; ${verdict}`;
  return { verdict, claim, claimText: describeClaim(claim), claimedSlope: cs, slope: fit.slope, ci: fit.ci, level: fit.level, note };
}

/**
 * Verdict against a bare claimed slope, or against `null` meaning "slower than any power of n"
 * (an inverse-log claim with unspecified tau): its slope tends to 0, so a measured interval
 * entirely below 0 is 'faster', one that contains 0 is 'consistent', one above 0 'slower'.
 */
export function judgeAgainstSlope(fit: Pick<SlopeFit, 'slope' | 'ci'> & { readonly level?: number }, claimed: number | null): { verdict: Verdict; note: string } {
  const target = claimed ?? 0;
  const verdict = judgeSlope(fit.ci, target);
  const pct = Math.round((fit.level ?? 0.95) * 100);
  const what = claimed === null ? 'a rate slower than any power of n (slope -> 0)' : `slope ${claimed.toFixed(3)}`;
  return { verdict, note: `measured ${fit.slope.toFixed(3)} [${fit.ci[0].toFixed(3)}, ${fit.ci[1].toFixed(3)}] (${pct}%) against ${what}: ${verdict}` };
}
