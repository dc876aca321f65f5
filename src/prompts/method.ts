/**
 * The shape every prompt method module has (vpt.ts, e2vpt.ts, vapt.ts), so comparing methods
 * means comparing files of the same shape:
 *   - a head-level prompt (the method's concrete parameters for one head),
 *   - `augment`: its effect on the head's queries, keys and values (the direct route),
 *   - `experts`: the prompt experts and their keys/biases for the MoE view (src/attention),
 *   - `paramCount`: tunable parameters on a ViT (ViT-level config, src/prompts/config.ts).
 */
import { type Mat, matmul, zeros } from '../linalg/mat.js';
import { attention } from '../attention/head.js';
import type { Head, PromptExperts } from '../attention/types.js';
import type { Accounting, PromptConfig, VitShape } from './config.js';

/** A head's inputs after a prompt method acted: raw query tokens (Q x d), projected keys (E x dk) and values (E x dv). */
export interface Augmented {
  readonly queryTokens: Mat;
  readonly keys: Mat;
  readonly values: Mat;
  /** Optional additive score bias per key (length E). */
  readonly bias?: Float64Array;
}

export interface PromptMethod<P, C extends PromptConfig> {
  readonly kind: C['kind'];
  augment(head: Head, X: Mat, prompt: P): Augmented;
  experts(head: Head, X: Mat, prompt: P): PromptExperts;
  paramCount(vit: VitShape, config: C, accounting?: Accounting): number;
}

/** The head's output computed directly from an augmented input. */
export function attendAugmented(head: Head, a: Augmented): Mat {
  return attention(matmul(a.queryTokens, head.WQ), a.keys, a.values, a.bias);
}

/** Rows of a above rows of b. */
export function stackRows(a: Mat, b: Mat): Mat {
  if (b.rows === 0) return a;
  if (a.rows === 0) return b;
  const out = zeros(a.rows + b.rows, a.cols);
  out.data.set(a.data, 0);
  out.data.set(b.data, a.rows * a.cols);
  return out;
}
