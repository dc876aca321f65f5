/**
 * Resource limits of a rate study, checked before any cell runs: the grid's size (cells are
 * listed in memory, so 10^9 replications would exhaust it) and each cell's memory, estimated
 * from the config by simulating a few samples of every variant and scaling to its largest n
 * (the samples, plus the estimator's working copies of them). A cell above `--max-memory` is
 * refused with the variant and n named, instead of running for minutes or dying out of memory.
 * On request (`--max-cell-seconds`) each variant's time per cell is estimated too: one probe cell
 * at the grid's smallest n, timed and scaled linearly to its largest n (a lower bound for fits
 * whose cost grows faster than n).
 */
import { InputError } from '../util/errors.js';
import { makeRng } from '../util/rng.js';
import { modelAt } from './variant-model.js';
import { runCell } from './cell.js';
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
  const model = modelAt(v, n);
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

/** Estimated seconds of one cell of `v` at n: a probe cell at `nProbe`, timed, scaled linearly in n. */
export function cellSeconds(v: StudyPlan['variants'][number], mainLoss: string, nProbe: number, n: number): number {
  const t0 = performance.now();
  try {
    runCell(v, mainLoss, { variant: v.name, n: nProbe, rep: 0, seed: 1, index: 0 });
  } catch (e) {
    if (e instanceof InputError) throw e;
    // a probe fit that throws would go to failures.jsonl in the run; its time still counts
  }
  return ((performance.now() - t0) / 1000) * (n / nProbe);
}

/** Throw an InputError if a cell (n <= maxN) of some variant is estimated to take more than maxSeconds. */
export function checkCellTime(plan: StudyPlan, maxSeconds: number, maxN = Infinity): void {
  const ns = plan.n.filter((n) => n <= maxN);
  const nMin = ns[0];
  const nMax = ns[ns.length - 1];
  if (nMin === undefined || nMax === undefined) return;
  for (const v of plan.variants) {
    const secs = cellSeconds(v, plan.study.loss, nMin, nMax);
    if (secs > maxSeconds)
      throw new InputError(
        plan.quick ? 'quick.n' : 'n',
        `sample sizes whose cells take at most --max-cell-seconds ${maxSeconds} s`,
        `about ${secs.toPrecision(2)} s per cell at n = ${nMax} for variant "${v.name}" (timed at n = ${nMin}, scaled linearly; raise the limit or lower n)`,
      );
  }
}

/** Parse a positive number of seconds. */
export function parseSeconds(text: string, field: string): number {
  const v = Number(text);
  if (!(Number.isFinite(v) && v > 0)) throw new InputError(field, 'a positive number of seconds', JSON.stringify(text));
  return v;
}
