/**
 * The dendrogram of a mixing measure (arXiv 2510.12744, after Do, Nguyen et al.'s dendrograms
 * of mixing measures): an over-fitted measure with K atoms is merged, two atoms at a time, down
 * to one; the level with k atoms is the paper's estimate of a k-atom truth.
 *
 *   dissimilarity  d(i, j) = (w_i w_j / (w_i + w_j)) sum_g ||theta_ig - theta_jg||^{e_g}
 *                  (groups g of parameter blocks, their joint Euclidean norm raised to e_g)
 *   merge          w = w_i + w_j,  theta = (w_i theta_i + w_j theta_j) / w   (every block)
 *   step           merge the pair of least d (ties: the first pair in index order); the merged
 *                  atom takes the place of the lower index, the other is removed
 *   weight 0       (an atom whose weight underflowed) d = 0: it merges first, into its neighbour
 *                  of least index, without moving it
 *
 * The official code of arXiv 2510.12744 (softmax-gated Gaussian MoE, d = 1) uses the groups
 * { b } with e = 2 and { a, nu } with e = 1 (gate slopes do not enter d, but are merged):
 * `SOFTMAX_GAUSSIAN_DISSIMILARITY`. The weights' scale cancels from the choice of pair (every d
 * scales by the same factor when all weights do), and so does a common shift of the gate
 * slopes, so merging in the canonical form picks the same pairs as in the anchored one.
 */
import { InputError } from '../util/errors.js';
import type { Atom, MixingMeasure } from '../mixture/measure.js';

export interface DissimilarityGroup {
  /** Parameter blocks whose joint Euclidean norm enters the dissimilarity. */
  readonly blocks: ReadonlyArray<string>;
  /** Exponent of that norm. */
  readonly exponent: number;
}

/** arXiv 2510.12744's dissimilarity for the softmax-gated Gaussian MoE: |db|^2 + ||(da, dnu)||. */
export const SOFTMAX_GAUSSIAN_DISSIMILARITY: ReadonlyArray<DissimilarityGroup> = [
  { blocks: ['b'], exponent: 2 },
  { blocks: ['a', 'nu'], exponent: 1 },
];

export interface DendrogramStep {
  /** Indices, in the level before the merge, of the two atoms merged (i < j). */
  readonly pair: readonly [number, number];
  /** Their dissimilarity (the height of the merge). */
  readonly height: number;
}

export interface Dendrogram {
  /** levels[l] is the measure after l merges: levels[0] is the input, the last has one atom. */
  readonly levels: ReadonlyArray<MixingMeasure>;
  readonly steps: ReadonlyArray<DendrogramStep>;
}

function weightOf(a: Atom, i: number): number {
  const w = a.weight;
  if (w === undefined || !(Number.isFinite(w) && w >= 0)) throw new InputError(`measure.atoms[${i}].weight`, 'a finite weight >= 0 (a dendrogram merges by weight)', String(w));
  return w;
}

function checkGroups(groups: ReadonlyArray<DissimilarityGroup>, g: MixingMeasure): void {
  if (groups.length === 0) throw new InputError('groups', 'at least one group of parameter blocks');
  groups.forEach((gr, k) => {
    if (gr.blocks.length === 0) throw new InputError(`groups[${k}].blocks`, 'at least one parameter block');
    if (!(Number.isFinite(gr.exponent) && gr.exponent > 0)) throw new InputError(`groups[${k}].exponent`, 'a finite number > 0', String(gr.exponent));
    g.atoms.forEach((a, i) => {
      for (const b of gr.blocks) if (a.params[b] === undefined) throw new InputError(`measure.atoms[${i}].params.${b}`, `a parameter block (named in groups[${k}])`, 'nothing');
    });
  });
}

/** d(i, j) of the header. */
export function dissimilarity(a: Atom, b: Atom, groups: ReadonlyArray<DissimilarityGroup>): number {
  const wa = weightOf(a, 0);
  const wb = weightOf(b, 1);
  let s = 0;
  for (const gr of groups) {
    let sq = 0;
    for (const name of gr.blocks) {
      const x = a.params[name] as Float64Array;
      const y = b.params[name] as Float64Array;
      if (x.length !== y.length) throw new InputError(`params.${name}`, 'blocks of the same length in both atoms', `${x.length} and ${y.length}`);
      for (let t = 0; t < x.length; t++) sq += ((x[t] as number) - (y[t] as number)) ** 2;
    }
    s += Math.pow(Math.sqrt(sq), gr.exponent);
  }
  // An atom of weight 0 (underflowed) merges at height 0, i.e. first.
  return wa + wb > 0 ? ((wa * wb) / (wa + wb)) * s : 0;
}

/** The weighted merge of two atoms: weights add, every block is the weight-averaged block. */
export function mergeAtoms(a: Atom, b: Atom): Atom {
  const wa = weightOf(a, 0);
  const wb = weightOf(b, 1);
  const w = wa + wb;
  const params: Record<string, Float64Array> = {};
  for (const [name, x] of Object.entries(a.params)) {
    const y = b.params[name];
    if (y === undefined || y.length !== x.length) throw new InputError(`params.${name}`, 'the same blocks in both atoms', y === undefined ? 'missing in one' : `${x.length} and ${y.length} numbers`);
    const out = new Float64Array(x.length);
    // Two atoms of weight 0 merge to their plain mean.
    for (let t = 0; t < x.length; t++) out[t] = w > 0 ? (wa * (x[t] as number) + wb * (y[t] as number)) / w : 0.5 * ((x[t] as number) + (y[t] as number));
    params[name] = out;
  }
  return { weight: w, params };
}

/** The whole dendrogram (levels from K atoms down to 1). */
export function dendrogram(g: MixingMeasure, groups: ReadonlyArray<DissimilarityGroup>): Dendrogram {
  if (g.atoms.length === 0) throw new InputError('measure.atoms', 'at least one atom', 'none');
  g.atoms.forEach((a, i) => weightOf(a, i));
  checkGroups(groups, g);
  const levels: MixingMeasure[] = [g];
  const steps: DendrogramStep[] = [];
  let cur = [...g.atoms];
  while (cur.length > 1) {
    let bi = 0;
    let bj = 1;
    let bd = Infinity;
    for (let i = 0; i < cur.length; i++)
      for (let j = i + 1; j < cur.length; j++) {
        const dv = dissimilarity(cur[i] as Atom, cur[j] as Atom, groups);
        if (dv < bd) { bd = dv; bi = i; bj = j; }
      }
    const merged = mergeAtoms(cur[bi] as Atom, cur[bj] as Atom);
    cur = cur.flatMap((a, i) => (i === bi ? [merged] : i === bj ? [] : [a]));
    levels.push({ atoms: cur });
    steps.push({ pair: [bi, bj], height: bd });
  }
  return { levels, steps };
}

/** The dendrogram's level with k atoms (the input itself when it has at most k). */
export function mergeToAtoms(g: MixingMeasure, k: number, groups: ReadonlyArray<DissimilarityGroup>): MixingMeasure {
  if (!Number.isInteger(k) || k < 1) throw new InputError('k', 'a positive integer (the number of atoms to merge down to)', String(k));
  if (g.atoms.length <= k) return g;
  return dendrogram(g, groups).levels[g.atoms.length - k] as MixingMeasure;
}
