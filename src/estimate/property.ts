/**
 * A reusable convergence property (the `check_estimator` idea): for an identifiable, exactly
 * specified model, an estimator's loss against the truth at a large n must be below its loss
 * at a small n, for every one of a fixed set of seeds. Use it with fast-check:
 *
 *   fc.assert(convergenceProperty({ family, truth, estimator, sampleInputs: { kind: 'gaussian', dim: 2 },
 *     noise: 0.1, smallN: 200, largeN: 20000, loss, seeds: [1, 2, 3] }), { numRuns: 3 });
 *
 * Each seed makes its own data at both sizes (X from `sampleInputs`, Y = f(truth; X) + noise
 * N(0, 1) from `dataFamily`, default `family`) and its own starts; the fits use `init(n)`
 * (default: the truth perturbed by 0.5 n^(-1/4)).
 */
import fc from 'fast-check';
import { InputError } from '../util/errors.js';
import { deriveSeed, makeRng, type Rng } from '../util/rng.js';
import type { RegressionFamily, Samples } from '../mixture/family.js';
import type { MixingMeasure } from '../mixture/measure.js';
import { sampleInputs as drawInputs, sampleResponses, type InputSpec } from '../mixture/sample.js';
import type { Estimator, FitResult, Init } from './estimator.js';
import { nearInit } from './init.js';

export interface ConvergencePropertyConfig<F extends RegressionFamily> {
  /** The family the estimator fits. */
  readonly family: F;
  /** The true mixing measure. */
  readonly truth: MixingMeasure;
  readonly estimator: Estimator<F>;
  /** How X is drawn: an input spec, or a function (n, rng) -> n x inputDim row-major. */
  readonly sampleInputs: InputSpec | ((n: number, rng: Rng) => Float64Array);
  /** Noise standard deviation sigma of Y. */
  readonly noise: number;
  readonly smallN: number;
  readonly largeN: number;
  /** Loss between a fitted measure and the truth (e.g. a Voronoi loss). */
  readonly loss: (fitted: MixingMeasure, truth: MixingMeasure) => number;
  /** Fixed seeds: the property holds for each. */
  readonly seeds: ReadonlyArray<number>;
  /** Family that generates Y (default `family`; give the truth's family for over-specified fits). */
  readonly dataFamily?: RegressionFamily;
  /** Start for a fit at size n (default: nearInit(truth, n) = truth + 0.5 n^(-1/4) N(0, I)). */
  readonly init?: (n: number) => Init;
  readonly starts?: number;
  readonly maxIterations?: number;
  readonly tolerance?: number;
}

export interface ConvergenceOutcome {
  readonly seed: number;
  readonly smallLoss: number;
  readonly largeLoss: number;
  readonly small: FitResult;
  readonly large: FitResult;
}

function checkConfig<F extends RegressionFamily>(c: ConvergencePropertyConfig<F>): void {
  if (!Number.isInteger(c.smallN) || c.smallN < 1) throw new InputError('smallN', 'an integer >= 1', String(c.smallN));
  if (!Number.isInteger(c.largeN) || !(c.largeN > c.smallN)) throw new InputError('largeN', `an integer > smallN (${c.smallN})`, String(c.largeN));
  if (!(c.noise >= 0) || !Number.isFinite(c.noise)) throw new InputError('noise', 'a finite number >= 0', String(c.noise));
  if (c.seeds.length === 0) throw new InputError('seeds', 'at least one seed');
}

/** Fit at one size for one seed. */
function fitAt<F extends RegressionFamily>(c: ConvergencePropertyConfig<F>, seed: number, n: number): FitResult {
  const dataFamily = c.dataFamily ?? c.family;
  const dataRng = makeRng(deriveSeed(seed, 'data', n));
  const X = typeof c.sampleInputs === 'function' ? c.sampleInputs(n, dataRng) : drawInputs(c.sampleInputs, n, dataRng);
  const samples: Samples = sampleResponses(dataFamily, dataFamily.fromMeasure(c.truth), X, c.noise, dataRng);
  const init = c.init === undefined ? nearInit(c.truth, n) : c.init(n);
  return c.estimator.fit(c.family, samples, {
    rng: makeRng(deriveSeed(seed, 'fit', n)),
    init,
    ...(c.starts === undefined ? {} : { starts: c.starts }),
    ...(c.maxIterations === undefined ? {} : { maxIterations: c.maxIterations }),
    ...(c.tolerance === undefined ? {} : { tolerance: c.tolerance }),
  });
}

/** Losses at smallN and largeN for one seed (what the property checks). */
export function convergenceOutcome<F extends RegressionFamily>(config: ConvergencePropertyConfig<F>, seed: number): ConvergenceOutcome {
  checkConfig(config);
  const small = fitAt(config, seed, config.smallN);
  const large = fitAt(config, seed, config.largeN);
  return { seed, small, large, smallLoss: config.loss(small.measure, config.truth), largeLoss: config.loss(large.measure, config.truth) };
}

/**
 * fast-check property over the fixed seeds: loss(largeN) < loss(smallN). Run it with
 * `fc.assert(prop, { numRuns: seeds.length })` (seeds are drawn with replacement; a larger
 * numRuns only repeats them).
 */
export function convergenceProperty<F extends RegressionFamily>(config: ConvergencePropertyConfig<F>): fc.IPropertyWithHooks<[number]> {
  checkConfig(config);
  return fc.property(fc.constantFrom(...config.seeds), (seed) => {
    const o = convergenceOutcome(config, seed);
    if (!(o.largeLoss < o.smallLoss)) {
      throw new Error(`seed ${seed}: loss at n = ${config.largeN} (${o.largeLoss}) is not below loss at n = ${config.smallN} (${o.smallLoss})`);
    }
  });
}
