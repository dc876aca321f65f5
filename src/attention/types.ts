/**
 * Types of the MoE view of attention (docs/theory.md §1): one head with W_Q, W_K in R^{d x dk} and
 * W_V in R^{d x dv} acting on tokens X in R^{N x d}.
 *   score  s_ij(X) = x_i^T W_Q W_K^T x_j / sqrt(dk)
 *   expert f_j(X)  = W_V^T x_j
 *   h_i(X) = sum_j softmax_j(s_i.(X)) f_j(X)
 */
import type { Mat } from '../linalg/mat.js';

export interface Head {
  /** d x dk */
  readonly WQ: Mat;
  /** d x dk */
  readonly WK: Mat;
  /** d x dv */
  readonly WV: Mat;
}

/** How an expert (or a score) depends on the input X, established numerically. */
export type ExpertKind = 'constant' | 'linear' | 'nonlinear';
export type ScoreKind = 'constant' | 'linear' | 'quadratic' | 'nonlinear';

/**
 * What a prompt method adds to one head for one input X: L extra experts with their keys
 * (already in the dk-dimensional key space) and values (dv), and, for VPT-shallow, the prompt
 * tokens as extra query rows (raw tokens in R^d, appended after the N token rows).
 */
export interface PromptExperts {
  /** L x dk: the key each prompt expert is scored against: score_{i,N+j} = q_i . keys_j / sqrt(dk). */
  readonly keys: Mat;
  /** L x dv: each prompt expert's output f_{N+j}(X). */
  readonly values: Mat;
  /** Optional per-expert additive score bias b_j (the theory's gate weights exp(b_j)); length L. */
  readonly scoreBias?: Float64Array;
  /** Extra query rows (raw tokens, L x d) for methods whose prompts also attend (VPT-shallow). */
  readonly extraQueries?: Mat;
}

/** The head read as N (or N + L) softmax-gated mixtures that share E = N + L experts. */
export interface MoeView {
  /** Q x E pre-softmax scores, scaled by 1/sqrt(dk). */
  readonly scores: Mat;
  /** Q x E gate probabilities (rows sum to 1). */
  readonly gates: Mat;
  /** E x dv expert outputs, token experts first then prompt experts. */
  readonly expertOutputs: Mat;
  /** Q x dv MoE reconstruction sum_j gate_ij f_j. */
  readonly output: Mat;
  /** Q x dv direct attention computation softmax(Q K^T / sqrt(dk)) V. */
  readonly attention: Mat;
  /** max |output - attention|. */
  readonly maxAbsError: number;
  /** Number of token experts N and prompt experts L (E = N + L). */
  readonly tokens: number;
  readonly prompts: number;
}
