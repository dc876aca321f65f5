/**
 * Voronoi losses between a fitted mixing measure G = sum_i w_i delta_{theta_i} and the truth
 * G* = sum_j w*_j delta_{theta*_j} (docs/theory.md §3), one general definition:
 *
 *   cells    V_j = { fitted i : j = argmin_l dist(theta_i, theta*_l) }   (ties: lowest l)
 *   dist     default sum_p ||theta_ip - theta*_lp||   (Euclidean / Frobenius norm per parameter block p)
 *   loss     sum_j sum_{i in V_j} m_i sum_p ||theta_ip - theta*_jp||^{e_p(|V_j|, j)}
 *            + [weight term] sum_j |sum_{i in V_j} w_i - w*_j|
 *
 * where e_p(m, j) is the per-parameter exponent for a cell of m fitted atoms (e.g. 1 in
 * singleton cells, 2 or more in cells of several atoms), and m_i is the fitted atom's weight w_i
 * (`weighAtoms`, the default when atoms carry weights) or 1. An empty cell contributes its true
 * weight w*_j through the weight term; when the atoms carry no weights there is no weight term
 * and an empty cell contributes 1 (so the loss stays positive when a true atom is missed).
 *
 * The named presets (softmax D1, Gaussian-gated type I / type II) are in presets.ts.
 */
import { InputError } from '../util/errors.js';
import type { Atom, MixingMeasure } from '../mixture/measure.js';

/** Exponent of ||delta_param|| for an atom in a cell of `cellSize` fitted atoms around true atom `trueIndex`. */
export type ExponentRule = (param: string, cellSize: number, truth: Atom, trueIndex: number) => number;

export interface VoronoiOptions {
  /** Parameter blocks that enter the loss (default: all blocks of the first true atom, sorted). */
  readonly params?: ReadonlyArray<string>;
  /** Per-parameter exponent as a function of cell size (default: 1 for singletons, 2 otherwise). */
  readonly exponent?: ExponentRule;
  /** Distance that forms the cells (default: summed per-parameter norms over `params`). */
  readonly cellDistance?: (fitted: Atom, truth: Atom) => number;
  /** Multiply each fitted atom's term by its own weight (default: true when all atoms carry weights). */
  readonly weighAtoms?: boolean;
  /** Add sum_j |sum of fitted weights in V_j - w*_j| (default: true when all atoms carry weights). */
  readonly weightTerm?: boolean;
}

export interface VoronoiCell {
  readonly trueIndex: number;
  /** Indices of the fitted atoms in the cell. */
  readonly members: ReadonlyArray<number>;
  /** The cell's parameter part (without the weight term). */
  readonly paramTerm: number;
  /** |sum of fitted weights - true weight| (0 when there is no weight term, 1 for an empty unweighted cell). */
  readonly weightTerm: number;
}

export interface VoronoiBreakdown {
  readonly total: number;
  readonly paramTerm: number;
  readonly weightTerm: number;
  /** cellOf[i] = the true atom whose cell fitted atom i joined. */
  readonly cellOf: ReadonlyArray<number>;
  readonly cells: ReadonlyArray<VoronoiCell>;
}

/** ||a - b||_2 over a parameter block (Frobenius for matrices stored flat). */
export function blockDistance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    s += d * d;
  }
  return Math.sqrt(s);
}

/** Default exponent: 1 in singleton cells, 2 in cells of several atoms (the softmax D1 shape). */
export const singletonOneElseTwo: ExponentRule = (_param, m) => (m <= 1 ? 1 : 2);

function paramNamesOf(g: MixingMeasure): string[] {
  const a = g.atoms[0];
  return a === undefined ? [] : Object.keys(a.params).sort();
}

function checkMeasure(g: MixingMeasure, name: string, params: ReadonlyArray<string>, shapes: ReadonlyMap<string, number>): void {
  g.atoms.forEach((a, i) => {
    for (const p of params) {
      const v = a.params[p];
      const len = shapes.get(p) as number;
      if (v === undefined) throw new InputError(`${name}.atoms[${i}].params.${p}`, 'a parameter block', 'nothing');
      if (v.length !== len) throw new InputError(`${name}.atoms[${i}].params.${p}`, `${len} numbers (as the true atoms)`, String(v.length));
      for (let t = 0; t < v.length; t++) if (!Number.isFinite(v[t] as number)) throw new InputError(`${name}.atoms[${i}].params.${p}[${t}]`, 'a finite number', String(v[t]));
    }
    if (a.weight !== undefined && !(Number.isFinite(a.weight) && a.weight >= 0)) throw new InputError(`${name}.atoms[${i}].weight`, 'a finite non-negative weight', String(a.weight));
  });
}

/** The full decomposition of the loss: cells, per-cell terms, total. */
export function voronoiBreakdown(fitted: MixingMeasure, truth: MixingMeasure, options: VoronoiOptions = {}): VoronoiBreakdown {
  if (truth.atoms.length === 0) throw new InputError('truth.atoms', 'at least one atom', 'none');
  if (fitted.atoms.length === 0) throw new InputError('fitted.atoms', 'at least one atom', 'none');
  const params = options.params ?? paramNamesOf(truth);
  if (params.length === 0) throw new InputError('params', 'at least one parameter block');
  const t0 = truth.atoms[0] as Atom;
  const shapes = new Map<string, number>();
  for (const p of params) {
    const v = t0.params[p];
    if (v === undefined) throw new InputError(`truth.atoms[0].params.${p}`, 'a parameter block named in params', 'nothing');
    shapes.set(p, v.length);
  }
  checkMeasure(truth, 'truth', params, shapes);
  checkMeasure(fitted, 'fitted', params, shapes);
  const weighted = truth.atoms.every((a) => a.weight !== undefined) && fitted.atoms.every((a) => a.weight !== undefined);
  const weighAtoms = options.weighAtoms ?? weighted;
  const weightTerm = options.weightTerm ?? weighted;
  if ((weighAtoms || weightTerm) && !weighted) throw new InputError('weightTerm', 'weights on every fitted and true atom when weights are used');
  const exponent = options.exponent ?? singletonOneElseTwo;
  const dist = options.cellDistance ?? ((f: Atom, t: Atom) => {
    let s = 0;
    for (const p of params) s += blockDistance(f.params[p] as Float64Array, t.params[p] as Float64Array);
    return s;
  });
  const K = truth.atoms.length;
  const cellOf = fitted.atoms.map((f) => {
    let best = 0;
    let bd = Infinity;
    truth.atoms.forEach((t, j) => {
      const dv = dist(f, t);
      if (dv < bd) { bd = dv; best = j; }
    });
    return best;
  });
  const members: number[][] = Array.from({ length: K }, () => []);
  cellOf.forEach((j, i) => (members[j] as number[]).push(i));
  let paramTotal = 0;
  let weightTotal = 0;
  const cells: VoronoiCell[] = members.map((mem, j) => {
    const t = truth.atoms[j] as Atom;
    const m = mem.length;
    let pt = 0;
    let mass = 0;
    for (const i of mem) {
      const f = fitted.atoms[i] as Atom;
      let s = 0;
      for (const p of params) {
        const e = exponent(p, m, t, j);
        s += Math.pow(blockDistance(f.params[p] as Float64Array, t.params[p] as Float64Array), e);
      }
      pt += (weighAtoms ? (f.weight as number) : 1) * s;
      mass += f.weight ?? 0;
    }
    let wt = 0;
    if (weightTerm) wt = Math.abs(mass - (t.weight as number));
    else if (m === 0) wt = 1;
    paramTotal += pt;
    weightTotal += wt;
    return { trueIndex: j, members: mem, paramTerm: pt, weightTerm: wt };
  });
  return { total: paramTotal + weightTotal, paramTerm: paramTotal, weightTerm: weightTotal, cellOf, cells };
}

/** The Voronoi loss (see the header for the formula). */
export function voronoiLoss(fitted: MixingMeasure, truth: MixingMeasure, options: VoronoiOptions = {}): number {
  return voronoiBreakdown(fitted, truth, options).total;
}
