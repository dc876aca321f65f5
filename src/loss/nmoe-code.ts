/**
 * The Voronoi losses of the softmax-gated Gaussian MoE as the published code of arXiv 2510.12744
 * computes them (its voronoi_loss_function and voronoi_loss_D1), for reproducing its numbers.
 * They differ from the toolkit's D2 / D1 (presets.ts) in how blocks combine: joint Euclidean
 * norms of groups of blocks instead of a sum of per-block norms. With theta = (beta, a, b, nu)
 * (gate slope, expert slope, expert intercept, variance) and w the atom weights:
 *
 *   cells  V_j = { fitted i : j = argmin_l ||theta_i - theta*_l|| }   (joint norm; ties: lowest l)
 *   D2     sum_{|V_j| >= 2} sum_{i in V_j} w_i (||(dbeta, db)||^{2m} + ||(da, dnu)||^m),  m = |V_j|
 *          + sum_{|V_j| = 1} w_i ||(dbeta, da, db, dnu)||  + sum_j |sum_{i in V_j} w_i - w*_j|
 *   D1     sum_j sum_{i in V_j} w_i ||(dbeta, da, db, dnu)||  + the same weight term
 *
 * The code scores unnormalised weights exp(beta0) with the last gate anchored at 0; the toolkit
 * passes its canonical weights (summing to 1). For the truths of its experiments the two differ
 * by a factor within 1 + e^-8 of 1, and the common shift of the gate slopes cancels from every
 * term but the slopes' own (see experiments/README.md, softmax-gaussian-dendrogram).
 */
import { InputError } from '../util/errors.js';
import type { Atom, MixingMeasure } from '../mixture/measure.js';

export type NmoeCodeLossName = 'D2' | 'D1';

const BLOCKS = ['beta', 'a', 'b', 'nu'] as const;

function sq(f: Atom, t: Atom, blocks: ReadonlyArray<string>, where: string): number {
  let s = 0;
  for (const name of blocks) {
    const x = f.params[name];
    const y = t.params[name];
    if (x === undefined || y === undefined || x.length !== y.length) throw new InputError(`${where}.params.${name}`, 'the block in fitted and true atoms, of the same length', x === undefined || y === undefined ? 'missing' : `${x.length} and ${y.length} numbers`);
    for (let k = 0; k < x.length; k++) s += ((x[k] as number) - (y[k] as number)) ** 2;
  }
  return s;
}

function weightOf(a: Atom, where: string): number {
  const w = a.weight;
  if (w === undefined || !(Number.isFinite(w) && w >= 0)) throw new InputError(`${where}.weight`, 'a finite weight >= 0', String(w));
  return w;
}

/** The published code's D2 or D1 between a fitted and a true softmax-gated Gaussian measure. */
export function nmoeCodeLoss(name: NmoeCodeLossName, fitted: MixingMeasure, truth: MixingMeasure): number {
  if (name !== 'D2' && name !== 'D1') throw new InputError('loss', "'D2' or 'D1'", String(name));
  if (truth.atoms.length === 0 || fitted.atoms.length === 0) throw new InputError(truth.atoms.length === 0 ? 'truth.atoms' : 'fitted.atoms', 'at least one atom', 'none');
  const cellOf = fitted.atoms.map((f, i) => {
    let best = 0;
    let bd = Infinity;
    truth.atoms.forEach((t, j) => {
      const dv = sq(f, t, BLOCKS, `fitted.atoms[${i}]`);
      if (dv < bd) { bd = dv; best = j; }
    });
    return best;
  });
  let loss = 0;
  truth.atoms.forEach((t, j) => {
    const members = cellOf.flatMap((c, i) => (c === j ? [i] : []));
    const m = members.length;
    let mass = 0;
    for (const i of members) {
      const f = fitted.atoms[i] as Atom;
      const w = weightOf(f, `fitted.atoms[${i}]`);
      mass += w;
      const where = `fitted.atoms[${i}]`;
      if (name === 'D2' && m >= 2) loss += w * (Math.pow(sq(f, t, ['beta', 'b'], where), m) + Math.pow(Math.sqrt(sq(f, t, ['a', 'nu'], where)), m));
      else loss += w * Math.sqrt(sq(f, t, BLOCKS, where));
    }
    loss += Math.abs(mass - weightOf(t, `truth.atoms[${j}]`));
  });
  return loss;
}
