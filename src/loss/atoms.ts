/**
 * Per-atom errors in Voronoi cells: the quantities the rate claims are about (docs/theory.md,
 * "Which quantity each claim is about").
 *
 *   cells     V_j = { fitted i : j = argmin_l dist(theta_i, theta*_l) }   (as voronoi.ts; ties: lowest l)
 *   dist      sum_p ||theta_ip - theta*_jp||   (Euclidean norm per parameter block p; no weights)
 *   e_i       = dist(theta_i, theta*_{cell(i)})   the unweighted error of fitted atom i
 *
 *   atoms-single     mean of e_i over singleton cells (|V_j| = 1)
 *   atoms-multi      per multi-atom cell (|V_j| >= 2) the largest e_i, averaged over such cells
 *   atoms-multi-min  the same with the smallest e_i
 *
 * A loss that has no cell of its kind (atoms-multi of an exact-specified fit whose cells are all
 * singletons) is absent, not 0. Weights (exp(b) or pi) never enter e_i: in a multi-atom cell the
 * individual weights are not identified, only their sum, which is reported per cell.
 *
 * Fit-health flags:
 *   switchedOff  some atom of a multi-atom cell holds under `switchedOffShare` of its cell's
 *                fitted weight (the fit turned an atom off instead of merging two onto one);
 *   escaped      some atom lies farther than `escapeDistance` from every true atom.
 */
import { InputError } from '../util/errors.js';
import type { Atom, MixingMeasure } from '../mixture/measure.js';
import { blockDistance } from './voronoi.js';

export const ATOM_LOSSES = ['atoms-single', 'atoms-multi', 'atoms-multi-min'] as const;
export type AtomLossName = (typeof ATOM_LOSSES)[number];

export interface AtomHealthOptions {
  /** An atom of a multi-atom cell with less than this share of the cell's fitted weight is switched off (default 0.01). */
  readonly switchedOffShare?: number;
  /** An atom farther than this (summed block norms) from every true atom has escaped (default 3). */
  readonly escapeDistance?: number;
  /** Parameter blocks that enter the distance (default: all blocks of the first true atom, sorted). */
  readonly params?: ReadonlyArray<string>;
}

export interface FittedAtomReport {
  /** The true atom whose cell the atom joined. */
  readonly cell: number;
  /** Fitted weight (absent for unweighted measures). */
  readonly weight?: number;
  /** Unweighted distance to the cell's true atom, sum over blocks. */
  readonly distance: number;
  /** The same per parameter block. */
  readonly blocks: Readonly<Record<string, number>>;
}

export interface CellReport {
  readonly trueIndex: number;
  readonly size: number;
  /** Sum of the fitted weights in the cell (absent for unweighted measures). */
  readonly weightSum?: number;
  readonly trueWeight?: number;
}

export interface AtomReport {
  readonly atoms: ReadonlyArray<FittedAtomReport>;
  readonly cells: ReadonlyArray<CellReport>;
  /** atoms-single / atoms-multi / atoms-multi-min, each only where its cells exist. */
  readonly losses: Partial<Record<AtomLossName, number>>;
  readonly switchedOff: boolean;
  readonly escaped: boolean;
}

function check(value: number | undefined, fallback: number, name: string, ok: (x: number) => boolean, expected: string): number {
  const v = value ?? fallback;
  if (!ok(v)) throw new InputError(name, expected, String(value));
  return v;
}

/** Cells, per-atom errors, the atoms-* losses and the health flags of a fit (see the header). */
export function atomReport(fitted: MixingMeasure, truth: MixingMeasure, options: AtomHealthOptions = {}): AtomReport {
  if (truth.atoms.length === 0) throw new InputError('truth.atoms', 'at least one atom', 'none');
  if (fitted.atoms.length === 0) throw new InputError('fitted.atoms', 'at least one atom', 'none');
  const offShare = check(options.switchedOffShare, 0.01, 'health.switchedOff', (x) => x >= 0 && x < 1, 'a share in [0, 1)');
  const escape = check(options.escapeDistance, 3, 'health.escaped', (x) => x > 0 && Number.isFinite(x), 'a positive distance');
  const params = options.params ?? Object.keys((truth.atoms[0] as Atom).params).sort();
  const blocksOf = (f: Atom, t: Atom): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const p of params) {
      const a = f.params[p];
      const b = t.params[p];
      if (a === undefined || b === undefined || a.length !== b.length) throw new InputError(`fitted.params.${p}`, `a block of ${b?.length ?? '?'} numbers as in the truth`, a === undefined ? 'nothing' : String(a.length));
      out[p] = blockDistance(a, b);
    }
    return out;
  };
  const sum = (r: Record<string, number>): number => params.reduce((s, p) => s + (r[p] as number), 0);
  const weighted = truth.atoms.every((a) => a.weight !== undefined) && fitted.atoms.every((a) => a.weight !== undefined);

  const K = truth.atoms.length;
  const atoms = fitted.atoms.map((f) => {
    let best = 0;
    let bestBlocks: Record<string, number> = {};
    let bd = Infinity;
    truth.atoms.forEach((t, j) => {
      const bl = blocksOf(f, t);
      const dv = sum(bl);
      if (dv < bd) { bd = dv; best = j; bestBlocks = bl; }
    });
    return { cell: best, ...(weighted ? { weight: f.weight as number } : {}), distance: bd, blocks: bestBlocks };
  });
  const members: number[][] = Array.from({ length: K }, () => []);
  atoms.forEach((a, i) => (members[a.cell] as number[]).push(i));
  const cells: CellReport[] = members.map((mem, j) => ({
    trueIndex: j,
    size: mem.length,
    ...(weighted ? { weightSum: mem.reduce((s, i) => s + (atoms[i]?.weight as number), 0), trueWeight: truth.atoms[j]?.weight as number } : {}),
  }));

  const singles: number[] = [];
  const multiMax: number[] = [];
  const multiMin: number[] = [];
  let switchedOff = false;
  members.forEach((mem, j) => {
    const errs = mem.map((i) => (atoms[i] as FittedAtomReport).distance);
    if (mem.length === 1) singles.push(errs[0] as number);
    if (mem.length >= 2) {
      multiMax.push(Math.max(...errs));
      multiMin.push(Math.min(...errs));
      const total = cells[j]?.weightSum;
      if (total !== undefined && mem.some((i) => (atoms[i]?.weight as number) < offShare * total)) switchedOff = true;
    }
  });
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  const losses: Partial<Record<AtomLossName, number>> = {};
  if (singles.length > 0) losses['atoms-single'] = mean(singles);
  if (multiMax.length > 0) {
    losses['atoms-multi'] = mean(multiMax);
    losses['atoms-multi-min'] = mean(multiMin);
  }
  return { atoms, cells, losses, switchedOff, escaped: atoms.some((a) => a.distance > escape) };
}
