/**
 * Score families for softmax gates: a score s(x; theta) in R for one atom, with its gradient
 * in the parameters theta and in the input x. The softmax gate (`softmax.ts`) adds each atom's
 * bias b_j (its weight exp(b_j)) and normalises:
 *   g_j(x) = exp(b_j + s(x; theta_j)) / sum_l exp(b_l + s(x; theta_l)).
 * Parameters live in a flat Float64Array at an offset, so hot loops never slice or allocate.
 */

/** A named block of a parameter vector (e.g. `beta` of length d). */
export interface ParamBlock {
  readonly name: string;
  readonly size: number;
}

export interface ScoreFamily {
  readonly kind: string;
  /** Length of x. */
  readonly inputDim: number;
  /** Named blocks of theta, in order (the bias b is not part of a score family). */
  readonly blocks: ReadonlyArray<ParamBlock>;
  /** Total length of theta (sum of block sizes). */
  readonly nParams: number;
  /** s(x; theta), theta = p[off .. off + nParams). */
  value(p: Float64Array, off: number, x: Float64Array): number;
  /** Returns s and writes g[goff + k] = d s / d theta_k. */
  gradParams(p: Float64Array, off: number, x: Float64Array, g: Float64Array, goff: number): number;
  /** Returns s and writes g[k] = d s / d x_k (k < inputDim). */
  gradInput(p: Float64Array, off: number, x: Float64Array, g: Float64Array): number;
}

/** Sum of block sizes. */
export function blocksSize(blocks: ReadonlyArray<ParamBlock>): number {
  let s = 0;
  for (const b of blocks) s += b.size;
  return s;
}
