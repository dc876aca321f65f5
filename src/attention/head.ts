/**
 * One attention head read as a bank of softmax-gated mixtures of experts (docs/theory.md §1-2).
 *
 *   queries q_i = W_Q^T x_i (i < N), plus W_Q^T u_i for extra query rows u_i (VPT-shallow)
 *   token experts   f_j(X) = W_V^T x_j,   keys k_j = W_K^T x_j               (j < N)
 *   prompt experts  f_{N+l}(X) = values_l, keys k_{N+l} = keys_l             (from PromptExperts)
 *   scores  s_ie = q_i . k_e / sqrt(dk) + b_e      (b_e = 0 for tokens, scoreBias for prompts)
 *   gates   g_ie = softmax_e(s_i.)
 *   output  h_i = sum_e g_ie f_e
 *
 * `moeView` extracts all of it in float64 and, separately, computes the head the direct way
 * (`attention`: unnormalised exp-weights times V, divided by the row sum at the end, as an
 * attention kernel does), so `maxAbsError` measures a genuine second route.
 */
import { type Mat, zeros, matmul, softmaxInto, vstack } from '../linalg/mat.js';
import { InputError } from '../util/errors.js';
import type { Head, MoeView, PromptExperts } from './types.js';

function shape(m: Mat): string {
  return `${m.rows}x${m.cols}`;
}

/** Check the shapes of a head, tokens and prompt experts; throws InputError naming the field. */
export function checkHead(head: Head, X: Mat, prompt?: PromptExperts): void {
  const d = X.cols;
  const dk = head.WQ.cols;
  const dv = head.WV.cols;
  if (X.rows < 1) throw new InputError('X', 'at least one token row');
  if (d < 1) throw new InputError('X', 'tokens of dimension >= 1');
  if (head.WQ.rows !== d) throw new InputError('WQ', `${d} rows (d)`, `${head.WQ.rows}`);
  if (dk < 1) throw new InputError('WQ', 'at least one column (dk)');
  if (head.WK.rows !== d || head.WK.cols !== dk) throw new InputError('WK', `a ${d}x${dk} matrix (d x dk)`, shape(head.WK));
  if (head.WV.rows !== d) throw new InputError('WV', `${d} rows (d)`, `${head.WV.rows}`);
  if (dv < 1) throw new InputError('WV', 'at least one column (dv)');
  if (prompt === undefined) return;
  const L = prompt.keys.rows;
  if (prompt.keys.cols !== dk && L > 0) throw new InputError('prompt.keys', `${dk} columns (dk)`, `${prompt.keys.cols}`);
  if (prompt.values.rows !== L) throw new InputError('prompt.values', `${L} rows (one per prompt)`, `${prompt.values.rows}`);
  if (prompt.values.cols !== dv && L > 0) throw new InputError('prompt.values', `${dv} columns (dv)`, `${prompt.values.cols}`);
  if (prompt.scoreBias !== undefined && prompt.scoreBias.length !== L) {
    throw new InputError('prompt.scoreBias', `length ${L}`, `${prompt.scoreBias.length}`);
  }
  if (prompt.extraQueries !== undefined && prompt.extraQueries.cols !== d && prompt.extraQueries.rows > 0) {
    throw new InputError('prompt.extraQueries', `${d} columns (d)`, `${prompt.extraQueries.cols}`);
  }
}

/**
 * Direct attention: out_i = sum_e exp(s_ie - m_i) v_e / sum_e exp(s_ie - m_i), with
 * s_ie = q_i . k_e / sqrt(dk) + bias_e. `queries` is Q x dk (already projected), `keys` E x dk,
 * `values` E x dv, `bias` length E (optional).
 */
export function attention(queries: Mat, keys: Mat, values: Mat, bias?: ArrayLike<number>): Mat {
  const dk = queries.cols;
  const E = keys.rows;
  const dv = values.cols;
  const inv = 1 / Math.sqrt(dk);
  const out = zeros(queries.rows, dv);
  const s = new Float64Array(E);
  const acc = new Float64Array(dv);
  for (let i = 0; i < queries.rows; i++) {
    let mx = -Infinity;
    for (let e = 0; e < E; e++) {
      let dot = 0;
      for (let k = 0; k < dk; k++) dot += (queries.data[i * dk + k] as number) * (keys.data[e * dk + k] as number);
      const v = dot * inv + (bias === undefined ? 0 : (bias[e] as number));
      s[e] = v;
      if (v > mx) mx = v;
    }
    acc.fill(0);
    let z = 0;
    for (let e = 0; e < E; e++) {
      const w = Math.exp((s[e] as number) - mx);
      z += w;
      for (let c = 0; c < dv; c++) acc[c] = (acc[c] as number) + w * (values.data[e * dv + c] as number);
    }
    for (let c = 0; c < dv; c++) out.data[i * dv + c] = (acc[c] as number) / z;
  }
  return out;
}

/** Softmax of each row of `scores` (stable: the row maximum is subtracted first). */
export function rowSoftmax(scores: Mat): Mat {
  const g = zeros(scores.rows, scores.cols);
  const E = scores.cols;
  for (let i = 0; i < scores.rows; i++) softmaxInto(scores.data.subarray(i * E, (i + 1) * E), g.data.subarray(i * E, (i + 1) * E));
  return g;
}

/**
 * Row kernel shared by the MoE view and the prompt mixtures (src/mixture/prompt-mixture.ts):
 * out[outOff + e] = q[qOff..qOff+dk) . keys[e*dk..(e+1)*dk) * inv + bias[e], e < E.
 */
export function scoreRowInto(
  q: Float64Array,
  qOff: number,
  keys: Float64Array,
  E: number,
  dk: number,
  inv: number,
  bias: Float64Array | undefined,
  out: Float64Array,
  outOff: number,
): void {
  for (let e = 0; e < E; e++) {
    let dot = 0;
    const ko = e * dk;
    for (let k = 0; k < dk; k++) dot += (q[qOff + k] as number) * (keys[ko + k] as number);
    out[outOff + e] = dot * inv + (bias === undefined ? 0 : (bias[e] as number));
  }
}

/** Row kernel: out[outOff..outOff+dv) = sum_e gates[gOff + e] values[e*dv..(e+1)*dv). */
export function mixRowInto(gates: Float64Array, gOff: number, values: Float64Array, E: number, dv: number, out: Float64Array, outOff: number): void {
  for (let c = 0; c < dv; c++) out[outOff + c] = 0;
  for (let e = 0; e < E; e++) {
    const g = gates[gOff + e] as number;
    const vo = e * dv;
    for (let c = 0; c < dv; c++) out[outOff + c] = (out[outOff + c] as number) + g * (values[vo + c] as number);
  }
}

/** The MoE view of one head on tokens X (N x d), with optional prompt experts. */
export function moeView(head: Head, X: Mat, prompt?: PromptExperts): MoeView {
  checkHead(head, X, prompt);
  const N = X.rows;
  const dk = head.WQ.cols;
  const dv = head.WV.cols;
  const L = prompt === undefined ? 0 : prompt.keys.rows;
  const E = N + L;
  const queryTokens = vstack(X, prompt?.extraQueries);
  const Q = queryTokens.rows;
  const q = matmul(queryTokens, head.WQ);
  const keys = vstack(matmul(X, head.WK), prompt?.keys);
  const expertOutputs = vstack(matmul(X, head.WV), prompt?.values);
  const bias = new Float64Array(E);
  if (prompt?.scoreBias !== undefined) bias.set(prompt.scoreBias, N);

  // Scores, gates and the reconstruction, row by row, with the shared row kernels.
  const inv = 1 / Math.sqrt(dk);
  const scores = zeros(Q, E);
  const gates = zeros(Q, E);
  const output = zeros(Q, dv);
  for (let i = 0; i < Q; i++) {
    scoreRowInto(q.data, i * dk, keys.data, E, dk, inv, bias, scores.data, i * E);
    softmaxInto(scores.data.subarray(i * E, (i + 1) * E), gates.data.subarray(i * E, (i + 1) * E));
    mixRowInto(gates.data, i * E, expertOutputs.data, E, dv, output.data, i * dv);
  }
  // Direct computation, on its own route.
  const direct = attention(q, keys, expertOutputs, prompt?.scoreBias === undefined ? undefined : bias);
  let maxAbsError = 0;
  for (let t = 0; t < output.data.length; t++) {
    maxAbsError = Math.max(maxAbsError, Math.abs((output.data[t] as number) - (direct.data[t] as number)));
  }
  return { scores, gates, expertOutputs, output, attention: direct, maxAbsError, tokens: N, prompts: L };
}
