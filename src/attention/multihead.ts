/**
 * Multi-head attention as H banks of mixtures of experts: head h has its own (W_Q, W_K, W_V) and
 * its own MoE view; the layer output is concat_h(h-th view's output) W_O, with W_O in
 * R^{(sum_h dv_h) x d_out}. `multiHeadMoeView` returns the per-head views, that reconstruction,
 * and the direct multi-head computation (all heads' projections done as one stacked product,
 * then per-head attention, concat, W_O) for comparison.
 */
import { type Mat, zeros, matmul, vstack } from '../linalg/mat.js';
import { InputError } from '../util/errors.js';
import { attention, moeView } from './head.js';
import type { Head, MoeView, PromptExperts } from './types.js';

export interface MultiHead {
  readonly heads: ReadonlyArray<Head>;
  /** (sum of the heads' dv) x d_out. */
  readonly WO: Mat;
}

export interface MultiHeadMoeView {
  readonly views: ReadonlyArray<MoeView>;
  /** Q x d_out: concat_h(views[h].output) W_O. */
  readonly output: Mat;
  /** Q x d_out: direct multi-head attention. */
  readonly attention: Mat;
  readonly maxAbsError: number;
}

/** Columns of several matrices side by side (same row count). */
export function hconcat(ms: ReadonlyArray<Mat>): Mat {
  const rows = ms[0]?.rows ?? 0;
  const cols = ms.reduce((s, m) => s + m.cols, 0);
  const out = zeros(rows, cols);
  let off = 0;
  for (const m of ms) {
    for (let i = 0; i < rows; i++) out.data.set(m.data.subarray(i * m.cols, (i + 1) * m.cols), i * cols + off);
    off += m.cols;
  }
  return out;
}

function columns(m: Mat, from: number, to: number): Mat {
  const out = zeros(m.rows, to - from);
  for (let i = 0; i < m.rows; i++) out.data.set(m.data.subarray(i * m.cols + from, i * m.cols + to), i * (to - from));
  return out;
}

/**
 * Per-head views and the multi-head output. `prompts[h]` are head h's prompt experts (omit for
 * none). Every head must add the same extra query rows (VPT-shallow appends the same prompt
 * tokens for all heads), so all views have the same Q.
 */
export function multiHeadMoeView(mh: MultiHead, X: Mat, prompts?: ReadonlyArray<PromptExperts | undefined>): MultiHeadMoeView {
  const H = mh.heads.length;
  if (H < 1) throw new InputError('heads', 'at least one head');
  if (prompts !== undefined && prompts.length !== H) throw new InputError('prompts', `one entry per head (${H})`, `${prompts.length}`);
  const views = mh.heads.map((head, h) => moeView(head, X, prompts?.[h]));
  const dvTotal = mh.heads.reduce((s, hd) => s + hd.WV.cols, 0);
  if (mh.WO.rows !== dvTotal) throw new InputError('WO', `${dvTotal} rows (sum of the heads' dv)`, `${mh.WO.rows}`);
  const Q = views[0]?.output.rows ?? 0;
  if (views.some((v) => v.output.rows !== Q)) throw new InputError('prompts', 'the same extra query rows for every head');
  const output = matmul(hconcat(views.map((v) => v.output)), mh.WO);

  // Direct: stacked projections X [W_Q^1 .. W_Q^H], then per-head slices.
  const extra = prompts?.[0]?.extraQueries;
  const queryTokens = vstack(X, extra);
  const qAll = matmul(queryTokens, hconcat(mh.heads.map((hd) => hd.WQ)));
  const kAll = matmul(X, hconcat(mh.heads.map((hd) => hd.WK)));
  const vAll = matmul(X, hconcat(mh.heads.map((hd) => hd.WV)));
  const outs: Mat[] = [];
  let qo = 0;
  let vo = 0;
  mh.heads.forEach((hd, h) => {
    const dk = hd.WQ.cols;
    const dv = hd.WV.cols;
    const p = prompts?.[h];
    const keys = vstack(columns(kAll, qo, qo + dk), p?.keys);
    const values = vstack(columns(vAll, vo, vo + dv), p?.values);
    let bias: Float64Array | undefined;
    if (p?.scoreBias !== undefined) {
      bias = new Float64Array(X.rows + p.scoreBias.length);
      bias.set(p.scoreBias, X.rows);
    }
    outs.push(attention(columns(qAll, qo, qo + dk), keys, values, bias));
    qo += dk;
    vo += dv;
  });
  const direct = matmul(hconcat(outs), mh.WO);
  let maxAbsError = 0;
  for (let t = 0; t < output.data.length; t++) maxAbsError = Math.max(maxAbsError, Math.abs((output.data[t] as number) - (direct.data[t] as number)));
  return { views, output, attention: direct, maxAbsError };
}
