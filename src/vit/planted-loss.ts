/**
 * The planted-prompt experiment's two numbers, from the simulation toolkit so that the ViT and
 * the simulation measure the same thing:
 *   - the Voronoi loss (src/loss/voronoi.ts) between fitted and planted prompt atoms, unweighted
 *     (prompt tokens carry no gate bias): exponent 1 for singleton cells, 2 for cells of several
 *     fitted atoms, an empty cell adds 1;
 *   - the rate: OLS slope of log loss on log n with the within-n bootstrap interval (src/rates).
 */
import { voronoiLoss } from '../loss/voronoi.js';
import { fitSlope } from '../rates/slope.js';
import type { MixingMeasure } from '../mixture/measure.js';

const measure = (rows: ReadonlyArray<readonly number[]>): MixingMeasure => ({ atoms: rows.map((r) => ({ params: { p: Float64Array.from(r) } })) });

/** Voronoi D1 loss between fitted and planted atoms (rows of parameters). */
export function promptAtomLoss(fitted: ReadonlyArray<readonly number[]>, planted: ReadonlyArray<readonly number[]>): number {
  if (planted.length === 0) return 0;
  return voronoiLoss(measure(fitted), measure(planted), { params: ['p'] });
}

/** Slope of log loss on log n with its bootstrap 95% interval and the classical t interval. */
export function slopeWithInterval(points: ReadonlyArray<{ n: number; loss: number }>, seed: number): { slope: number; ci: [number, number]; tInterval: [number, number] } {
  const fit = fitSlope(points, { seed, bootstrap: 2000, level: 0.95 });
  return { slope: fit.slope, ci: [fit.ci[0], fit.ci[1]], tInterval: [fit.tInterval[0], fit.tInterval[1]] };
}
