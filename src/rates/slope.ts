/**
 * Rate fits on log-log axes: the OLS slope of log(loss) on log(n),
 *
 *   log L_{n,r} = a + s log n + e_{n,r},   s_hat = sum (x - xbar)(y - ybar) / sum (x - xbar)^2,
 *
 * with two intervals: the classical t interval (s_hat +- t_{1-alpha/2, N-2} se, t quantile from
 * @stdlib) and the bootstrap percentile interval (the headline one): B times, resample the
 * replications within each n with replacement (so every n keeps its count) and refit; the
 * interval is the (alpha/2, 1 - alpha/2) quantiles of the B slopes. Seeded, so reproducible.
 * `fitLogLinear` is the same machinery for any transform of n (log-rate.ts uses log(log n / n)).
 *
 * With `aggregate: 'mean'` the regression is the published simulations' one instead: one point
 * per n, log of the mean loss over its replications, log mean_r L_{n,r} = a + s log n + e_n (the
 * bootstrap still resamples replications within each n, then averages). A few large losses at
 * some n weigh in the mean, not in the mean of logs, so the two slopes differ when the loss
 * distribution's spread changes with n.
 */
import { InputError } from '../util/errors.js';
import { makeRng } from '../util/rng.js';
import { stdlib } from '../util/stdlib.js';
import { quantileSorted } from './quantile.js';

const tQuantile = stdlib<typeof import('@stdlib/stats/base/dists/t/quantile')>('@stdlib/stats/base/dists/t/quantile');
const dmean = stdlib<typeof import('@stdlib/stats/strided/dmean')>('@stdlib/stats/strided/dmean');

/** One fit's loss at sample size n. */
export interface LossPoint {
  readonly n: number;
  readonly loss: number;
}

export interface SlopeOptions {
  /** Confidence level (default 0.95). */
  readonly level?: number;
  /** Bootstrap resamples (default 2000; 0 skips the bootstrap and reports the t interval as `ci`). */
  readonly bootstrap?: number;
  /** Seed of the bootstrap (default 1). */
  readonly seed?: number;
  /** 'logs' (default): every fit's log loss is a point; 'mean': one point per n, the log of its mean loss. */
  readonly aggregate?: 'logs' | 'mean';
}

export interface NGroup {
  readonly n: number;
  readonly count: number;
  /** Mean of log(loss) over the replications at this n (via @stdlib dmean). */
  readonly meanLogLoss: number;
}

export interface SlopeFit {
  /** OLS slope of log loss on the regressor (log n for `fitSlope`). */
  readonly slope: number;
  readonly intercept: number;
  /** Standard error of the slope (OLS). */
  readonly stderr: number;
  readonly r2: number;
  readonly level: number;
  /** Bootstrap percentile interval at `level` (the t interval when bootstrap = 0). */
  readonly ci: readonly [number, number];
  /** Classical t interval at `level`. */
  readonly tInterval: readonly [number, number];
  readonly bootstrap: number;
  readonly seed: number;
  readonly nPoints: number;
  /** The design: distinct n with their replication counts, ascending. */
  readonly groups: ReadonlyArray<NGroup>;
}

interface Ols { slope: number; intercept: number; sxx: number; rss: number; tss: number }

function ols(x: Float64Array, y: Float64Array, len: number): Ols {
  const xbar = dmean(len, x, 1);
  const ybar = dmean(len, y, 1);
  let sxx = 0;
  let sxy = 0;
  let tss = 0;
  for (let i = 0; i < len; i++) {
    const dx = (x[i] as number) - xbar;
    const dy = (y[i] as number) - ybar;
    sxx += dx * dx;
    sxy += dx * dy;
    tss += dy * dy;
  }
  const slope = sxy / sxx;
  const intercept = ybar - slope * xbar;
  let rss = 0;
  for (let i = 0; i < len; i++) {
    const e = (y[i] as number) - intercept - slope * (x[i] as number);
    rss += e * e;
  }
  return { slope, intercept, sxx, rss, tss };
}

/**
 * OLS of log(loss) on xOf(n) with t and bootstrap intervals. `xName` names the regressor in
 * error messages.
 */
export function fitLogLinear(points: ReadonlyArray<LossPoint>, xOf: (n: number) => number, options: SlopeOptions = {}, xName = 'log n'): SlopeFit {
  const level = options.level ?? 0.95;
  const B = options.bootstrap ?? 2000;
  const seed = options.seed ?? 1;
  if (!(level > 0 && level < 1)) throw new InputError('level', 'a number in (0, 1)', String(level));
  if (!Number.isInteger(B) || B < 0) throw new InputError('bootstrap', 'a non-negative integer', String(B));
  points.forEach((p, i) => {
    if (!(Number.isFinite(p.n) && p.n > 0)) throw new InputError(`points[${i}].n`, 'a positive finite sample size', String(p.n));
    if (!(Number.isFinite(p.loss) && p.loss > 0)) throw new InputError(`points[${i}].loss`, 'a positive finite loss (its log is taken)', String(p.loss));
    if (!Number.isFinite(xOf(p.n))) throw new InputError(`points[${i}].n`, `a sample size where ${xName} is finite`, String(p.n));
  });
  // Group by n, ascending.
  const byN = new Map<number, number[]>();
  for (const p of points) {
    const arr = byN.get(p.n) ?? [];
    arr.push(Math.log(p.loss));
    byN.set(p.n, arr);
  }
  // Sorted within each n, so the bootstrap (and so the interval) does not depend on the order of the points.
  for (const arr of byN.values()) arr.sort((a, b) => a - b);
  const ns = [...byN.keys()].sort((a, b) => a - b);
  if (ns.length < 2) throw new InputError('points', 'losses at two or more distinct n', `${ns.length} distinct n`);
  const groups: NGroup[] = ns.map((n) => {
    const ys = Float64Array.from(byN.get(n) as number[]);
    return { n, count: ys.length, meanLogLoss: dmean(ys.length, ys, 1) };
  });
  const ofMeans = options.aggregate === 'mean';
  // Log of the mean loss at each n (from the sorted log losses): the regression of aggregate 'mean'.
  const logMean = (ys: ReadonlyArray<number>, pick: (r: number) => number): number => {
    let m = 0;
    for (let r = 0; r < ys.length; r++) m += Math.exp(ys[pick(r)] as number);
    return Math.log(m / ys.length);
  };
  const N = ofMeans ? ns.length : points.length;
  const x = new Float64Array(N);
  const y = new Float64Array(N);
  let o = 0;
  for (const n of ns) {
    const xn = xOf(n);
    const ys = byN.get(n) as number[];
    if (ofMeans) { x[o] = xn; y[o] = logMean(ys, (r) => r); o++; } else for (const v of ys) { x[o] = xn; y[o] = v; o++; }
  }
  const fit = ols(x, y, N);
  const df = N - 2;
  const stderr = df > 0 ? Math.sqrt(fit.rss / df / fit.sxx) : NaN;
  const tq = df > 0 ? tQuantile(1 - (1 - level) / 2, df) : NaN;
  const tInterval: [number, number] = [fit.slope - tq * stderr, fit.slope + tq * stderr];
  let ci: [number, number] = tInterval;
  if (B > 0) {
    const rng = makeRng(seed);
    const slopes = new Float64Array(B);
    const yb = new Float64Array(N);
    for (let b = 0; b < B; b++) {
      let q = 0;
      for (const n of ns) {
        const ys = byN.get(n) as number[];
        if (ofMeans) yb[q++] = logMean(ys, () => rng.int(ys.length));
        else for (let r = 0; r < ys.length; r++) yb[q++] = ys[rng.int(ys.length)] as number;
      }
      slopes[b] = ols(x, yb, N).slope;
    }
    slopes.sort();
    ci = [quantileSorted(slopes, (1 - level) / 2), quantileSorted(slopes, 1 - (1 - level) / 2)];
  }
  return {
    slope: fit.slope, intercept: fit.intercept, stderr, r2: fit.tss > 0 ? 1 - fit.rss / fit.tss : 1, level,
    ci, tInterval, bootstrap: B, seed, nPoints: N, groups,
  };
}

/** Slope of log(loss) on log(n) with its intervals (see the header). */
export function fitSlope(points: ReadonlyArray<LossPoint>, options: SlopeOptions = {}): SlopeFit {
  return fitLogLinear(points, Math.log, options, 'log n');
}
