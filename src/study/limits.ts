/**
 * Resource limits of a rate study, checked before any cell runs: the grid's size (cells are
 * listed in memory, so 10^9 replications would exhaust it) and each cell's memory, estimated
 * from the config by simulating a few samples of every variant and scaling to its largest n
 * (the samples, plus the estimator's working copies of them). A cell above `--max-memory` is
 * refused with the variant and n named, instead of running for minutes or dying out of memory.
 */
import { InputError } from '../util/errors.js';
import { makeRng } from '../util/rng.js';
import { getKind } from './registry.js';
import type { StudyPlan } from './schema.js';

/** At most this many cells in one grid (variants x n values x replications). */
export const MAX_CELLS = 10_000_000;
/** Default per-cell memory limit: 4 GiB. */
export const DEFAULT_MAX_MEMORY = 4 * 2 ** 30;
/** Working copies of the samples an estimator may hold besides them (residuals, Jacobian rows, responsibilities). */
const WORKSPACE_FACTOR = 8;
const PROBE_N = 32;

/** Parse a byte size such as `512M`, `4G`, `2.5GiB` or a plain number of bytes. */
export function parseBytes(text: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(text.trim());
  const unit = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[(m?.[2] ?? '').toLowerCase()];
  const v = m === null || unit === undefined ? NaN : Number(m[1]) * unit;
  if (!(Number.isFinite(v) && v >= 1)) throw new InputError(field, 'a size such as 512M, 4G or 1073741824 (bytes)', JSON.stringify(text));
  return Math.floor(v);
}

export const formatBytes = (b: number): string => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`);

/** Estimated peak bytes of one cell of variant `v` at sample size n. */
export function cellMemory(v: StudyPlan['variants'][number], n: number): number {
  const model = getKind(v.model.kind, v.path).build(v.model, v.estimator, v.path);
  const { samples } = model.simulate(PROBE_N, makeRng(1));
  const perSample = (samples.X.byteLength + samples.Y.byteLength) / PROBE_N;
  return Math.ceil(n * perSample * (1 + WORKSPACE_FACTOR));
}

/** Throw an InputError if the plan's grid or any of its cells (those with n <= maxN, when given) exceeds the limits. */
export function checkLimits(plan: StudyPlan, maxMemory = DEFAULT_MAX_MEMORY, maxN = Infinity): void {
  const cells = plan.variants.length * plan.n.length * plan.replications;
  if (cells > MAX_CELLS)
    throw new InputError(plan.quick ? 'quick.replications' : 'replications', `a grid of at most ${MAX_CELLS} cells (variants x n values x replications)`, `${cells} cells`);
  const nMax = Math.max(0, ...plan.n.filter((n) => n <= maxN));
  if (nMax === 0) return;
  for (const v of plan.variants) {
    const bytes = cellMemory(v, nMax);
    if (bytes > maxMemory)
      throw new InputError(
        plan.quick ? 'quick.n' : 'n',
        `sample sizes whose cells fit in --max-memory ${formatBytes(maxMemory)}`,
        `n = ${nMax} for variant "${v.name}", about ${formatBytes(bytes)} per cell (raise --max-memory or lower n)`,
      );
  }
}
