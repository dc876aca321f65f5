/**
 * VAPT (arXiv 2501.18936, official code): adaptive prompts computed from the tokens.
 *   U = LN(X)                    optional LayerNorm over each token's d channels, eps = 1e-6
 *   C = conv(U)                  channel-wise K x K convolution on the H x W patch grid (tokens
 *                                in row-major grid order), one kernel shared by all d channels,
 *                                zero padding p, stride 1 (cross-correlation, as conv2d):
 *                                C[(a,b), c] = sum_{u,v} k[u][v] U_pad[(a+u, b+v), c],
 *                                output grid H' x W', H' = H + 2p - K + 1
 *   G = alpha C + bias 1^T       token-wise projector alpha in R^{L x H'W'}, bias in R^L
 *   P = G + W2 relu(W1 G)        shared feature MLP g(u) = W2 relu(W1 u) applied to each row
 *                                (W1 in R^{r x d}, W2 in R^{d x r}); without residual P = g(G).
 * P (L x d) is appended like VPT-deep prompts: keys [X; P] W_K, values [X; P] W_V, queries X.
 * Prompt expert j: f_{N+j}(X) = W_V^T P_j(X), nonlinear in X, score x_i^T W_Q W_K^T P_j(X).
 * The building blocks are pure functions on float64 matrices; the tfjs ViT and the prompt
 * mixtures are tested against them.
 */
import { type Mat, matmul, zeros } from '../linalg/mat.js';
import { InputError } from '../util/errors.js';
import type { Head, PromptExperts } from '../attention/types.js';
import { type VaptConfig, type VitShape, type Accounting, convGrid, paramCount } from './config.js';
import { type Augmented, type PromptMethod, stackRows } from './method.js';

export const LN_EPS = 1e-6;

export interface VaptHeadPrompt {
  readonly kind: 'vapt';
  readonly grid: readonly [number, number];
  /** K x K kernel shared by all channels. */
  readonly kernel: Mat;
  readonly padding: number;
  /** L x H'W' token-wise projector. */
  readonly alpha: Mat;
  /** Length L projector bias. */
  readonly bias: Float64Array;
  /** r x d. */
  readonly W1: Mat;
  /** d x r. */
  readonly W2: Mat;
  readonly residual: boolean;
  readonly layerNorm: null | { readonly gamma: Float64Array; readonly beta: Float64Array };
}

/** LayerNorm over each row: (x - mean) / sqrt(var + eps) * gamma + beta (biased variance). */
export function layerNorm(X: Mat, gamma?: ArrayLike<number>, beta?: ArrayLike<number>, eps = LN_EPS): Mat {
  const out = zeros(X.rows, X.cols);
  layerNormInto(X, gamma, beta, eps, out.data);
  return out;
}

/** `layerNorm` written into `out` (rows x d, row-major; may not alias X). */
export function layerNormInto(X: Mat, gamma: ArrayLike<number> | undefined, beta: ArrayLike<number> | undefined, eps: number, out: Float64Array): void {
  const d = X.cols;
  for (let i = 0; i < X.rows; i++) {
    let mean = 0;
    for (let c = 0; c < d; c++) mean += X.data[i * d + c] as number;
    mean /= d;
    let v = 0;
    for (let c = 0; c < d; c++) {
      const t = (X.data[i * d + c] as number) - mean;
      v += t * t;
    }
    const inv = 1 / Math.sqrt(v / d + eps);
    for (let c = 0; c < d; c++) {
      const g = gamma === undefined ? 1 : (gamma[c] as number);
      const b = beta === undefined ? 0 : (beta[c] as number);
      out[i * d + c] = ((X.data[i * d + c] as number) - mean) * inv * g + b;
    }
  }
}

/**
 * Channel-wise convolution of the H x W grid of tokens (rows of X in row-major grid order) with
 * one K x K kernel shared by all channels, zero padding p: returns H'W' x d (row-major grid).
 */
export function conv(X: Mat, grid: readonly [number, number], kernel: Mat, padding: number): Mat {
  const [H, W] = grid;
  const K = kernel.rows;
  if (kernel.cols !== K) throw new InputError('kernel', `a square K x K matrix`, `${kernel.rows}x${kernel.cols}`);
  if (X.rows !== H * W) throw new InputError('X', `${H * W} rows (grid ${H}x${W})`, `${X.rows}`);
  const [Ho, Wo] = convGrid(grid, K, padding);
  const out = zeros(Ho * Wo, X.cols);
  convInto(X, grid, kernel, padding, out.data);
  return out;
}

/** `conv` written into `out` (H'W' x d, row-major; shapes unchecked: the caller checked them). */
export function convInto(X: Mat, grid: readonly [number, number], kernel: Mat, padding: number, out: Float64Array): void {
  const [H, W] = grid;
  const K = kernel.rows;
  const Ho = H + 2 * padding - K + 1;
  const Wo = W + 2 * padding - K + 1;
  const d = X.cols;
  out.fill(0, 0, Ho * Wo * d);
  for (let a = 0; a < Ho; a++) {
    for (let b = 0; b < Wo; b++) {
      const o = (a * Wo + b) * d;
      for (let u = 0; u < K; u++) {
        const y = a + u - padding;
        if (y < 0 || y >= H) continue;
        for (let v = 0; v < K; v++) {
          const x = b + v - padding;
          if (x < 0 || x >= W) continue;
          const k = kernel.data[u * K + v] as number;
          const src = (y * W + x) * d;
          for (let c = 0; c < d; c++) out[o + c] = (out[o + c] as number) + k * (X.data[src + c] as number);
        }
      }
    }
  }
}

/** G = alpha C + bias 1^T: alpha is L x H'W', C is H'W' x d, bias length L (optional). */
export function projector(C: Mat, alpha: Mat, bias?: ArrayLike<number>): Mat {
  if (alpha.cols !== C.rows) throw new InputError('alpha', `${C.rows} columns (H'W')`, `${alpha.cols}`);
  const G = matmul(alpha, C);
  if (bias !== undefined) {
    if (bias.length !== alpha.rows) throw new InputError('bias', `length ${alpha.rows} (L)`, `${bias.length}`);
    for (let j = 0; j < G.rows; j++) for (let c = 0; c < G.cols; c++) G.data[j * G.cols + c] = (G.data[j * G.cols + c] as number) + (bias[j] as number);
  }
  return G;
}

/** Row-wise g(u) = W2 relu(W1 u), plus u when residual: G is L x d, W1 r x d, W2 d x r. */
export function featureMlp(G: Mat, W1: Mat, W2: Mat, residual: boolean): Mat {
  const d = G.cols;
  const r = W1.rows;
  if (W1.cols !== d) throw new InputError('W1', `${d} columns (d)`, `${W1.cols}`);
  if (W2.rows !== d || W2.cols !== r) throw new InputError('W2', `a ${d}x${r} matrix (d x r)`, `${W2.rows}x${W2.cols}`);
  const out = zeros(G.rows, d);
  featureMlpInto(G, W1, W2, residual, out.data, new Float64Array(G.rows * r));
  return out;
}

/**
 * `featureMlp` written into `out` (L x d); `pre` (L x r) receives the pre-activations W1 g_j
 * (their signs are the ReLU pattern a Jacobian needs). Shapes unchecked.
 */
export function featureMlpInto(G: Mat, W1: Mat, W2: Mat, residual: boolean, out: Float64Array, pre: Float64Array): void {
  const d = G.cols;
  const r = W1.rows;
  for (let j = 0; j < G.rows; j++) {
    for (let a = 0; a < r; a++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += (W1.data[a * d + c] as number) * (G.data[j * d + c] as number);
      pre[j * r + a] = s;
    }
    for (let c = 0; c < d; c++) {
      let s = residual ? (G.data[j * d + c] as number) : 0;
      for (let a = 0; a < r; a++) {
        const h = pre[j * r + a] as number;
        if (h > 0) s += (W2.data[c * r + a] as number) * h;
      }
      out[j * d + c] = s;
    }
  }
}

/** The adaptive prompts P(X) (L x d). */
export function vaptPrompts(X: Mat, prompt: VaptHeadPrompt): Mat {
  const U = prompt.layerNorm === null ? X : layerNorm(X, prompt.layerNorm.gamma, prompt.layerNorm.beta);
  const C = conv(U, prompt.grid, prompt.kernel, prompt.padding);
  const G = projector(C, prompt.alpha, prompt.bias);
  return featureMlp(G, prompt.W1, prompt.W2, prompt.residual);
}

export function vaptAugment(head: Head, X: Mat, prompt: VaptHeadPrompt): Augmented {
  const tokens = stackRows(X, vaptPrompts(X, prompt));
  return { queryTokens: X, keys: matmul(tokens, head.WK), values: matmul(tokens, head.WV) };
}

export function vaptExperts(head: Head, X: Mat, prompt: VaptHeadPrompt): PromptExperts {
  const P = vaptPrompts(X, prompt);
  return { keys: matmul(P, head.WK), values: matmul(P, head.WV) };
}

export const vapt: PromptMethod<VaptHeadPrompt, VaptConfig> = {
  kind: 'vapt',
  augment: vaptAugment,
  experts: vaptExperts,
  paramCount: (vit: VitShape, config: VaptConfig, accounting?: Accounting) => paramCount(vit, config, accounting),
};
