/**
 * Mixing measures G = sum_j exp(b_j) delta_{theta_j}: a list of atoms, each with named parameter
 * blocks (e.g. VPT: { p }, prefix: { k, v }, VAPT: { alpha }, Gaussian gating: { c, Gamma, A, b, nu })
 * and an optional weight (softmax gates: exp(b_j); Gaussian gates: pi_j).
 */
import { InputError } from '../util/errors.js';

export interface Atom {
  /** Gate weight of the atom (exp(bias) for softmax gates, pi for Gaussian gates); absent if unweighted. */
  readonly weight?: number;
  /** Named parameter blocks; a scalar parameter is a length-1 array. */
  readonly params: Readonly<Record<string, Float64Array>>;
}

export interface MixingMeasure {
  readonly atoms: ReadonlyArray<Atom>;
}

/** Parameter names of a measure, in a fixed order (those of its first atom). */
export function paramNames(g: MixingMeasure): string[] {
  const first = g.atoms[0];
  return first === undefined ? [] : Object.keys(first.params).sort();
}

/** Plain JSON form (for results files). */
export function measureToJson(g: MixingMeasure): { weight?: number; params: Record<string, number[]> }[] {
  return g.atoms.map((a) => ({
    ...(a.weight === undefined ? {} : { weight: a.weight }),
    params: Object.fromEntries(Object.entries(a.params).map(([k, v]) => [k, Array.from(v)])),
  }));
}

/** The inverse of `measureToJson` (a results line's "estimate" or truth.json's "truth"); errors name `path`. */
export function measureFromJson(json: unknown, path: string): MixingMeasure {
  if (!Array.isArray(json) || json.length === 0) throw new InputError(path, 'a non-empty list of atoms [{ weight?, params: { name: [numbers] } }]', JSON.stringify(json)?.slice(0, 80) ?? String(json));
  return {
    atoms: json.map((a: unknown, i) => {
      const at = a as { weight?: unknown; params?: unknown };
      if (at === null || typeof at !== 'object' || at.params === null || typeof at.params !== 'object') throw new InputError(`${path}[${i}]`, 'an atom { weight?, params: { name: [numbers] } }');
      if (at.weight !== undefined && typeof at.weight !== 'number') throw new InputError(`${path}[${i}].weight`, 'a number', JSON.stringify(at.weight));
      const params: Record<string, Float64Array> = {};
      for (const [name, v] of Object.entries(at.params as Record<string, unknown>)) {
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw new InputError(`${path}[${i}].params.${name}`, 'a list of numbers', JSON.stringify(v));
        params[name] = Float64Array.from(v as number[]);
      }
      return at.weight === undefined ? { params } : { weight: at.weight, params };
    }),
  };
}

/** A named parameter block of an atom in a flat theta: `length` consecutive numbers. */
export interface ParamBlock {
  readonly name: string;
  readonly length: number;
}

/**
 * The layout of the softmax-gated prompt families (src/mixture/prompt-mixture.ts, the planted ViT
 * layer in src/vit/planted-layer.ts): atom j occupies theta[j atomSize ..), its score bias b_j
 * first (weight exp(b_j)), then its blocks in order. Lengths are the caller's to check.
 */
export function biasedAtomsToMeasure(theta: Float64Array, atoms: number, atomSize: number, blocks: ReadonlyArray<ParamBlock>): MixingMeasure {
  const out: Atom[] = [];
  for (let j = 0; j < atoms; j++) {
    const o = j * atomSize;
    const params: Record<string, Float64Array> = {};
    let off = o + 1;
    for (const b of blocks) {
      params[b.name] = theta.slice(off, off + b.length);
      off += b.length;
    }
    out.push({ weight: Math.exp(theta[o] as number), params });
  }
  return { atoms: out };
}

/** The inverse of `biasedAtomsToMeasure` (b_j = log weight; a missing weight is 1), with InputErrors naming the field. */
export function biasedAtomsFromMeasure(g: MixingMeasure, atoms: number, atomSize: number, blocks: ReadonlyArray<ParamBlock>): Float64Array {
  if (g.atoms.length !== atoms) throw new InputError('measure.atoms', `${atoms} atoms (the family's)`, `${g.atoms.length}`);
  const theta = new Float64Array(atoms * atomSize);
  g.atoms.forEach((atom, j) => {
    const o = j * atomSize;
    const w = atom.weight ?? 1;
    if (!(w > 0) || !Number.isFinite(w)) throw new InputError(`measure.atoms[${j}].weight`, 'a finite positive number', String(w));
    theta[o] = Math.log(w);
    let off = o + 1;
    for (const b of blocks) {
      const v = atom.params[b.name];
      if (v === undefined || v.length !== b.length) {
        throw new InputError(`measure.atoms[${j}].params.${b.name}`, `an array of length ${b.length}`, v === undefined ? 'nothing' : `length ${v.length}`);
      }
      theta.set(v, off);
      off += b.length;
    }
  });
  return theta;
}
