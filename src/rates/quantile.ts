/**
 * Sample quantile of sorted values by linear interpolation between order statistics (Hyndman and
 * Fan type 7, R's default): h = (m - 1) p, Q(p) = x_floor(h) + (h - floor(h)) (x_floor(h)+1 - x_floor(h)).
 * stdlib has sorted medians (dmediansorted) but no sample quantile, so it is written here once.
 */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return (sorted[lo] as number) + (h - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}

/** Median and quartiles (type 7) of sorted values. */
export function quartiles(sorted: ArrayLike<number>): { readonly median: number; readonly q1: number; readonly q3: number } {
  return { median: quantileSorted(sorted, 0.5), q1: quantileSorted(sorted, 0.25), q3: quantileSorted(sorted, 0.75) };
}
