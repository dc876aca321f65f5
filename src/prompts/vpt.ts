/**
 * VPT (Jia et al., 2022): L learned prompt tokens p_j in R^d appended to the tokens.
 *   keys   [X; P] W_K,  values [X; P] W_V
 *   queries X W_Q (deep: the prompt outputs are discarded and replaced by fresh prompts at the
 *           next layer), or [X; P] W_Q (shallow: the prompts are ordinary tokens from then on,
 *           so they are query rows too; they come last).
 * Prompt expert j: f_{N+j} = W_V^T p_j, constant in X and tied to its score
 * s_{i,N+j} = x_i^T W_Q W_K^T p_j / sqrt(dk) through p_j (linear in X).
 * Parameters: L d per layer (deep: every layer; shallow: the first only).
 */
import { type Mat, matmul } from '../linalg/mat.js';
import { InputError } from '../util/errors.js';
import type { Head, PromptExperts } from '../attention/types.js';
import { type VptConfig, type VitShape, paramCount } from './config.js';
import { type Augmented, type PromptMethod, stackRows } from './method.js';

export interface VptHeadPrompt {
  readonly kind: 'vpt';
  /** L x d prompt tokens. */
  readonly P: Mat;
  readonly mode: 'deep' | 'shallow';
}

function check(X: Mat, prompt: VptHeadPrompt): void {
  if (prompt.P.rows > 0 && prompt.P.cols !== X.cols) throw new InputError('prompt.P', `${X.cols} columns (d)`, `${prompt.P.cols}`);
}

export function vptAugment(head: Head, X: Mat, prompt: VptHeadPrompt): Augmented {
  check(X, prompt);
  const tokens = stackRows(X, prompt.P);
  return { queryTokens: prompt.mode === 'shallow' ? tokens : X, keys: matmul(tokens, head.WK), values: matmul(tokens, head.WV) };
}

export function vptExperts(head: Head, X: Mat, prompt: VptHeadPrompt): PromptExperts {
  check(X, prompt);
  return {
    keys: matmul(prompt.P, head.WK),
    values: matmul(prompt.P, head.WV),
    ...(prompt.mode === 'shallow' ? { extraQueries: prompt.P } : {}),
  };
}

export const vpt: PromptMethod<VptHeadPrompt, VptConfig> = {
  kind: 'vpt',
  augment: vptAugment,
  experts: vptExperts,
  paramCount: (vit: VitShape, config: VptConfig) => paramCount(vit, config),
};
