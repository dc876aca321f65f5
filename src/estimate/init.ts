/**
 * Starting points for estimators (the `Init` of estimator.ts):
 *   random: the family's own random draw (`sampleTheta`) or, lacking one, theta ~ N(0, I);
 *   near:   the truth, expanded to the family's number of atoms, perturbed by scale * N(0, I).
 * Expansion (over-specified fits, as the papers start them): each fitted atom is assigned to a
 * true atom so every true atom gets at least one, the rest at random; an atom's weight is split
 * evenly among its copies. `shrinkingScale` gives the papers' perturbation scale c * n^(-rate).
 */
import { InputError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import type { RegressionFamily } from '../mixture/family.js';
import type { Atom, MixingMeasure } from '../mixture/measure.js';
import type { Init } from './estimator.js';

/** A family that can draw its own random start and/or says how many atoms it fits. */
export interface InitCapable {
  /** Number of atoms the family fits (for expanding a smaller true measure). */
  readonly atoms?: number;
  /** A random parameter vector (used by `init: { kind: 'random' }`). */
  sampleTheta?(rng: Rng): Float64Array;
}

/** c * n^(-rate): a near-truth perturbation scale that shrinks with n. */
export function shrinkingScale(c: number, n: number, rate: number): number {
  return c * Math.pow(n, -rate);
}

/** `{ kind: 'near', truth, scale: c * n^(-rate) }`. */
export function nearInit(truth: MixingMeasure, n: number, c = 0.5, rate = 0.25): Init {
  return { kind: 'near', truth, scale: shrinkingScale(c, n, rate) };
}

/** The truth with `atoms` atoms: every true atom copied at least once, weights split evenly. */
export function expandMeasure(truth: MixingMeasure, atoms: number, rng: Rng): MixingMeasure {
  const k = truth.atoms.length;
  if (atoms === k) return truth;
  if (atoms < k) throw new InputError('family.atoms', `at least the truth's ${k} atoms`, String(atoms));
  const owner: number[] = [];
  for (let j = 0; j < k; j++) owner.push(j);
  for (let j = k; j < atoms; j++) owner.push(rng.int(k));
  const copies = new Array<number>(k).fill(0);
  for (const o of owner) copies[o] = (copies[o] as number) + 1;
  const out: Atom[] = owner.map((o) => {
    const a = truth.atoms[o] as Atom;
    const params = Object.fromEntries(Object.entries(a.params).map(([name, v]) => [name, Float64Array.from(v)]));
    return a.weight === undefined ? { params } : { weight: a.weight / (copies[o] as number), params };
  });
  return { atoms: out };
}

/** A starting theta for `family` under `init`. */
export function initialTheta(family: RegressionFamily & InitCapable, init: Init, rng: Rng): Float64Array {
  if (init.kind === 'random') {
    if (family.sampleTheta !== undefined) return family.sampleTheta(rng);
    const theta = new Float64Array(family.nParams);
    for (let k = 0; k < theta.length; k++) theta[k] = rng.normal();
    return theta;
  }
  if (init.kind !== 'near') throw new InputError('init.kind', "'random' or 'near'", String((init as { kind: unknown }).kind));
  if (!(init.scale >= 0) || !Number.isFinite(init.scale)) throw new InputError('init.scale', 'a finite number >= 0', String(init.scale));
  const truth = family.atoms === undefined ? init.truth : expandMeasure(init.truth, family.atoms, rng);
  const theta = family.fromMeasure(truth);
  for (let k = 0; k < theta.length; k++) theta[k] = (theta[k] as number) + init.scale * rng.normal();
  return theta;
}

/**
 * Start protocols of a rate study, named so every results line can say which one made it:
 *   shrinking   truth expanded to L atoms + scale * n^(-rate) N(0, I)  (the papers' start: it
 *               comes closer as n grows, so along flat directions it can hand the fit its rate)
 *   fixed       truth expanded to L atoms + scale * N(0, I), the same law for every n
 *   multistart  `starts` independent starts from the fixed law (or the random one), the best
 *               objective kept, every start recorded
 *   random      the family's own prior draw (`sampleTheta`), no knowledge of the truth or of n
 */
export type StartProtocol =
  | { readonly protocol: 'shrinking'; readonly scale: number; readonly rate: number }
  | { readonly protocol: 'fixed'; readonly scale: number }
  | { readonly protocol: 'multistart'; readonly starts: number; readonly scale: number; readonly from: 'fixed' | 'random' }
  | { readonly protocol: 'random' };

/** The `Init` and number of starts a protocol gives at sample size n. */
export function startPlan(p: StartProtocol, truth: MixingMeasure, n: number): { readonly init: Init; readonly starts: number } {
  switch (p.protocol) {
    case 'shrinking':
      return { init: nearInit(truth, n, p.scale, p.rate), starts: 1 };
    case 'fixed':
      return { init: { kind: 'near', truth, scale: p.scale }, starts: 1 };
    case 'multistart':
      return { init: p.from === 'random' ? { kind: 'random' } : { kind: 'near', truth, scale: p.scale }, starts: p.starts };
    case 'random':
      return { init: { kind: 'random' }, starts: 1 };
  }
}
