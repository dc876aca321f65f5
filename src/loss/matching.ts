/**
 * Plain per-parameter errors after optimal matching: fitted and true atoms are paired one to one
 * so that the summed distance (default: summed per-parameter norms, as the Voronoi cells use) is
 * smallest, then each parameter block's error ||theta_ip - theta*_jp|| (and |w_i - w*_j|) is
 * reported per pair. With more fitted than true atoms the surplus fitted atoms stay unmatched
 * (listed); with fewer, the surplus true atoms do.
 *
 * The assignment is solved exactly by the Hungarian algorithm (Kuhn-Munkres, O(n^2 m) with
 * potentials), written here: none of the project's dependencies provides one.
 */
import { InputError } from '../util/errors.js';
import type { Atom, MixingMeasure } from '../mixture/measure.js';
import { blockDistance } from './voronoi.js';

/**
 * Minimum-cost assignment for a rows x cols cost matrix with rows <= cols: returns, for each row,
 * its column (distinct columns). Costs must be finite.
 */
export function hungarian(cost: ReadonlyArray<ReadonlyArray<number>>): number[] {
  const n = cost.length;
  if (n === 0) return [];
  const m = (cost[0] as ReadonlyArray<number>).length;
  if (n > m) throw new InputError('cost', 'no more rows than columns', `${n} x ${m}`);
  cost.forEach((row, i) => {
    if (row.length !== m) throw new InputError(`cost[${i}]`, `${m} entries`, String(row.length));
    row.forEach((v, j) => { if (!Number.isFinite(v)) throw new InputError(`cost[${i}][${j}]`, 'a finite number', String(v)); });
  });
  // 1-based potentials u (rows), v (cols); p[j] = row matched to column j; way = augmenting path.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1);
  const way = new Int32Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(m + 1).fill(Infinity);
    const used = new Uint8Array(m + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0] as number;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = ((cost[i0 - 1] as ReadonlyArray<number>)[j - 1] as number) - (u[i0] as number) - (v[j] as number);
        if (cur < (minv[j] as number)) { minv[j] = cur; way[j] = j0; }
        if ((minv[j] as number) < delta) { delta = minv[j] as number; j1 = j; }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) { u[p[j] as number] = (u[p[j] as number] as number) + delta; v[j] = (v[j] as number) - delta; }
        else minv[j] = (minv[j] as number) - delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0] as number;
      p[j0] = p[j1] as number;
      j0 = j1;
    } while (j0 !== 0);
  }
  const out = new Array<number>(n).fill(-1);
  for (let j = 1; j <= m; j++) if ((p[j] as number) > 0) out[(p[j] as number) - 1] = j - 1;
  return out;
}

export interface MatchedErrors {
  /** Pairs (fitted index, true index) of the optimal matching, in true-atom order. */
  readonly pairs: ReadonlyArray<{ readonly fitted: number; readonly truth: number }>;
  readonly unmatchedFitted: ReadonlyArray<number>;
  readonly unmatchedTruth: ReadonlyArray<number>;
  /** Per parameter block: the error of each pair (in `pairs` order), their max and mean. */
  readonly perParam: Readonly<Record<string, { readonly errors: ReadonlyArray<number>; readonly max: number; readonly mean: number }>>;
  /** |w_i - w*_j| per pair, when the atoms carry weights. */
  readonly weightErrors?: ReadonlyArray<number>;
  /** Summed matching cost. */
  readonly cost: number;
}

export interface MatchingOptions {
  readonly params?: ReadonlyArray<string>;
  readonly distance?: (fitted: Atom, truth: Atom) => number;
}

export function matchedErrors(fitted: MixingMeasure, truth: MixingMeasure, options: MatchingOptions = {}): MatchedErrors {
  if (truth.atoms.length === 0) throw new InputError('truth.atoms', 'at least one atom', 'none');
  if (fitted.atoms.length === 0) throw new InputError('fitted.atoms', 'at least one atom', 'none');
  const params = options.params ?? Object.keys((truth.atoms[0] as Atom).params).sort();
  for (const [name, g] of [['truth', truth], ['fitted', fitted]] as const) {
    g.atoms.forEach((a, i) => {
      for (const p of params) {
        const v = a.params[p];
        const ref = (truth.atoms[0] as Atom).params[p];
        if (v === undefined || ref === undefined || v.length !== ref.length) throw new InputError(`${name}.atoms[${i}].params.${p}`, `${ref?.length ?? '?'} numbers`, v === undefined ? 'nothing' : String(v.length));
      }
    });
  }
  const dist = options.distance ?? ((f: Atom, t: Atom) => params.reduce((s, p) => s + blockDistance(f.params[p] as Float64Array, t.params[p] as Float64Array), 0));
  const F = fitted.atoms.length;
  const T = truth.atoms.length;
  const C = truth.atoms.map((t) => fitted.atoms.map((f) => dist(f, t))); // T x F
  let pairs: { fitted: number; truth: number }[];
  if (T <= F) pairs = hungarian(C).map((f, j) => ({ fitted: f, truth: j }));
  else {
    const Ct = fitted.atoms.map((_, i) => C.map((row) => row[i] as number)); // F x T
    pairs = hungarian(Ct).map((j, i) => ({ fitted: i, truth: j })).sort((a, b) => a.truth - b.truth);
  }
  const matchedF = new Set(pairs.map((q) => q.fitted));
  const matchedT = new Set(pairs.map((q) => q.truth));
  const perParam: Record<string, { errors: number[]; max: number; mean: number }> = {};
  for (const p of params) {
    const errors = pairs.map((q) => blockDistance((fitted.atoms[q.fitted] as Atom).params[p] as Float64Array, (truth.atoms[q.truth] as Atom).params[p] as Float64Array));
    perParam[p] = { errors, max: Math.max(...errors), mean: errors.reduce((s, e) => s + e, 0) / errors.length };
  }
  const weighted = pairs.every((q) => fitted.atoms[q.fitted]?.weight !== undefined && truth.atoms[q.truth]?.weight !== undefined);
  return {
    pairs,
    unmatchedFitted: Array.from({ length: F }, (_, i) => i).filter((i) => !matchedF.has(i)),
    unmatchedTruth: Array.from({ length: T }, (_, j) => j).filter((j) => !matchedT.has(j)),
    perParam,
    ...(weighted ? { weightErrors: pairs.map((q) => Math.abs((fitted.atoms[q.fitted]?.weight as number) - (truth.atoms[q.truth]?.weight as number))) } : {}),
    cost: pairs.reduce((s, q) => s + ((C[q.truth] as number[])[q.fitted] as number), 0),
  };
}
