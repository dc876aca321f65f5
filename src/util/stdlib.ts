/**
 * stdlib's deep packages (`@stdlib/random/base/randu`, `@stdlib/stats/base/dists/t/quantile`, ...)
 * are CommonJS folders without an `exports` map, which Node's ES module resolver refuses to
 * import. Load them through `require`, keeping their published types:
 *   const tQuantile = stdlib<typeof import('@stdlib/stats/base/dists/t/quantile')>('@stdlib/stats/base/dists/t/quantile');
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function stdlib<T>(path: string): T {
  return require(path) as T;
}
