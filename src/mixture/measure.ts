/**
 * Mixing measures G = sum_j exp(b_j) delta_{theta_j}: a list of atoms, each with named parameter
 * blocks (e.g. VPT: { p }, prefix: { k, v }, VAPT: { alpha }, Gaussian gating: { c, Gamma, A, b, nu })
 * and an optional weight (softmax gates: exp(b_j); Gaussian gates: pi_j).
 */
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
