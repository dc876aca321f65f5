/**
 * Named Voronoi losses (voronoi.ts gives the general definition):
 *
 *  - 'D1' (softmax-gated MoE, docs/theory.md §3): exponent 1 on every parameter in singleton cells,
 *    2 in cells of several atoms; each atom's term multiplied by its weight exp(b_i); plus the
 *    weight term sum_j |sum_{i in V_j} exp(b_i) - exp(b*_j)|.
 *  - 'typeI' (Gaussian-gated, arXiv 2305.07572, docs/theory.md §4 (gaussian-gated)): parameters c, Gamma, A, b, nu;
 *    cells by the summed distance ||dc|| + ||dGamma|| + ||dA|| + ||db|| + ||dnu||; a singleton cell
 *    adds pi_i times that distance; a cell of m >= 2 atoms adds
 *      sum_i pi_i (||dc||^r + ||dGamma||^(r/2) + ||dA||^2 + ||db||^r + ||dnu||^(r/2)),  r = r(m);
 *    plus sum_j |sum_{i in V_j} pi_i - pi*_j|.
 *  - 'typeII': as typeI, but with ||dA||^(r/2) instead of ||dA||^2 in the cells whose true gate
 *    mean c*_j is 0 (||c*_j|| <= zeroTolerance, default exactly 0).
 *
 * r(m), the Ho-Nguyen exponents (Ho & Nguyen 2016, weakly identifiable location-scale
 * mixtures; used by 2305.07572): the smallest r for which a certain system of polynomial
 * equations has only the trivial solution. Known values: r(2) = 4, r(3) = 6. For m >= 4 no
 * closed form is established (only lower bounds are known); the toolkit continues the even
 * sequence, r(m) = 2m, and says so here: override with `rOf` where a study needs another choice.
 * In the published simulation (k* = 3, k <= 5) cells have at most 3 atoms, so only r(2), r(3) enter.
 */
import type { Atom, MixingMeasure } from '../mixture/measure.js';
import { InputError } from '../util/errors.js';
import { type ExponentRule, type VoronoiBreakdown, type VoronoiOptions, voronoiBreakdown } from './voronoi.js';

export type LossPresetName = 'D1' | 'typeI' | 'typeII';

/** r(m): 4 for m = 2, 6 for m = 3, continued as 2m for m >= 4 (see the header); 1 for m <= 1 (singletons). */
export function hoNguyenR(m: number): number {
  if (!Number.isInteger(m) || m < 0) throw new InputError('cellSize', 'a non-negative integer', String(m));
  if (m <= 1) return 1;
  return 2 * m;
}

export interface GaussianPresetOptions {
  /** Exponent r as a function of cell size m >= 2 (default `hoNguyenR`). */
  readonly rOf?: (m: number) => number;
  /** typeII only: a true gate mean with norm at most this counts as 0 (default 0). */
  readonly zeroTolerance?: number;
}

/** The softmax D1 loss over the given parameter blocks (default: all blocks of the true atoms). */
export function softmaxD1(params?: ReadonlyArray<string>): VoronoiOptions {
  const exponent: ExponentRule = (_p, m) => (m <= 1 ? 1 : 2);
  return { ...(params ? { params } : {}), exponent, weighAtoms: true, weightTerm: true };
}

const GAUSSIAN_PARAMS = ['c', 'Gamma', 'A', 'b', 'nu'] as const;

function gaussianExponent(rOf: (m: number) => number, slopeRule: (r: number, truth: Atom) => number): ExponentRule {
  return (param, m, truth) => {
    if (m <= 1) return 1;
    const r = rOf(m);
    switch (param) {
      case 'c':
      case 'b':
        return r;
      case 'Gamma':
      case 'nu':
        return r / 2;
      case 'A':
        return slopeRule(r, truth);
      default:
        throw new InputError('params', "the Gaussian-gated blocks c, Gamma, A, b, nu", param);
    }
  };
}

/** Type-I Gaussian-gated loss (all true gate means non-zero). */
export function gaussianTypeI(options: GaussianPresetOptions = {}): VoronoiOptions {
  const rOf = options.rOf ?? hoNguyenR;
  return { params: GAUSSIAN_PARAMS, exponent: gaussianExponent(rOf, () => 2), weighAtoms: true, weightTerm: true };
}

/** Type-II Gaussian-gated loss: r/2 on A in cells whose true gate mean is 0. */
export function gaussianTypeII(options: GaussianPresetOptions = {}): VoronoiOptions {
  const rOf = options.rOf ?? hoNguyenR;
  const tol = options.zeroTolerance ?? 0;
  const isZero = (t: Atom): boolean => {
    const c = t.params.c as Float64Array;
    let s = 0;
    for (let i = 0; i < c.length; i++) s += (c[i] as number) ** 2;
    return Math.sqrt(s) <= tol;
  };
  return { params: GAUSSIAN_PARAMS, exponent: gaussianExponent(rOf, (r, t) => (isZero(t) ? r / 2 : 2)), weighAtoms: true, weightTerm: true };
}

/**
 * The over-specified loss of the softmax-gated Gaussian MoE (arXiv 2305.03288, its D2): blocks
 * beta (gate slope), a (expert slope), b (expert intercept), nu (expert variance); singleton
 * cells exponent 1; a cell of m >= 2 atoms ||dbeta||^r + ||da||^(r/2) + |db|^r + |dnu|^(r/2),
 * r = r(m) (hoNguyenR); each atom weighted by exp(beta0_i); plus the weight term. With every
 * cell a singleton (exact specification) it is the paper's D1.
 */
export function softmaxGaussianD2(options: GaussianPresetOptions = {}): VoronoiOptions {
  const rOf = options.rOf ?? hoNguyenR;
  const exponent: ExponentRule = (param, m) => {
    if (m <= 1) return 1;
    const r = rOf(m);
    return param === 'a' || param === 'nu' ? r / 2 : r;
  };
  return { params: ['a', 'b', 'beta', 'nu'], exponent, weighAtoms: true, weightTerm: true };
}

/**
 * Exponent 1 on every block in every cell, each atom weighted by exp(beta0_i), plus the weight
 * term: the D1 of arXiv 2510.12744's code (voronoi_loss_D1), which it applies to the merged
 * measure as well as to exact fits (where it equals softmaxGaussianD2).
 */
export function softmaxGaussianD1(): VoronoiOptions {
  return { params: ['a', 'b', 'beta', 'nu'], exponent: () => 1, weighAtoms: true, weightTerm: true };
}

/** Options of a named preset. */
export function lossPreset(name: LossPresetName, options: GaussianPresetOptions & { readonly params?: ReadonlyArray<string> } = {}): VoronoiOptions {
  switch (name) {
    case 'D1':
      return softmaxD1(options.params);
    case 'typeI':
      return gaussianTypeI(options);
    case 'typeII':
      return gaussianTypeII(options);
    default:
      throw new InputError('loss', "'D1', 'typeI' or 'typeII'", String(name));
  }
}

export const LOSS_PRESETS: ReadonlyArray<LossPresetName> = ['D1', 'typeI', 'typeII'];

/** A named loss between a fitted and a true measure. */
export function presetLoss(name: LossPresetName, fitted: MixingMeasure, truth: MixingMeasure, options: GaussianPresetOptions & { readonly params?: ReadonlyArray<string> } = {}): number {
  return voronoiBreakdown(fitted, truth, lossPreset(name, options)).total;
}

/** The same with its decomposition (cells, parameter and weight parts). */
export function presetBreakdown(name: LossPresetName, fitted: MixingMeasure, truth: MixingMeasure, options: GaussianPresetOptions & { readonly params?: ReadonlyArray<string> } = {}): VoronoiBreakdown {
  return voronoiBreakdown(fitted, truth, lossPreset(name, options));
}
