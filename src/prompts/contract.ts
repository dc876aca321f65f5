/**
 * The moe-view JSON contract (README "moe-view and params: formats"), one head:
 *
 * input  { X: number[N][d], WQ: number[d][dk], WK: number[d][dk], WV: number[d][dv],
 *          prompt: null
 *            | { kind: "vpt", P: number[L][d], mode: "deep" | "shallow" }
 *            | { kind: "kv", K: number[L][dk], V: number[L][dv] }
 *            | { kind: "vapt", grid: [H, W], kernel: number[K][K], padding: number,
 *                alpha: number[L][H'W'], bias: number[L], W1: number[r][d], W2: number[d][r],
 *                residual: boolean, layerNorm: null | { gamma: number[d], beta: number[d] } } }
 * output { gates: number[Q][E], scores: number[Q][E], expertOutputs: number[E][dv],
 *          output: number[Q][dv], attention: number[Q][dv], maxAbsError: number,
 *          expertKinds: string[E], scoreKinds: string[E] }
 *
 * Experts: the N token experts, then the L prompt experts. Q = N, or N + L for VPT shallow
 * (prompt rows last). For vapt, X holds the H*W patch tokens in row-major grid order, H' = H +
 * 2 padding - K + 1, LayerNorm eps = 1e-6. `output` is the MoE reconstruction, `attention` the
 * direct computation on the prompt-augmented inputs.
 */
import { z } from 'zod';
import { type Mat, toRows } from '../linalg/mat.js';
import type { Head, MoeView } from '../attention/types.js';
import { InputError } from '../util/errors.js';
import type { ExpertKind, ScoreKind } from '../attention/types.js';
import { convGrid } from './config.js';
import { type HeadPrompt, promptedAttention, promptedKinds, promptedView } from './head-prompt.js';
import { parseInput, toMat, toVec } from './validate.js';

const num = z.number().refine(Number.isFinite, { error: 'a finite number' });
const matrix = z.array(z.array(num));
const vector = z.array(num);

// Strict objects: an unknown field (a typo such as "WQ " or "mdoe") is an error, not ignored.
const vptSchema = z.object({ kind: z.literal('vpt'), P: matrix, mode: z.enum(['deep', 'shallow']) }).strict();
const kvSchema = z.object({ kind: z.literal('kv'), K: matrix, V: matrix }).strict();
const vaptSchema = z.object({
  kind: z.literal('vapt'),
  grid: z.tuple([z.int().min(1), z.int().min(1)]),
  kernel: matrix,
  padding: z.int().min(0),
  alpha: matrix,
  bias: vector,
  W1: matrix,
  W2: matrix,
  residual: z.boolean(),
  layerNorm: z.object({ gamma: vector, beta: vector }).strict().nullable(),
}).strict();

export const moeViewInputSchema = z.object({
  X: matrix,
  WQ: matrix,
  WK: matrix,
  WV: matrix,
  prompt: z.discriminatedUnion('kind', [vptSchema, kvSchema, vaptSchema]).nullable(),
}).strict();

/** The input as JSON (what the schema accepts). */
export type MoeViewInputJson = z.infer<typeof moeViewInputSchema>;

export interface MoeViewInput {
  readonly head: Head;
  readonly X: Mat;
  readonly prompt: HeadPrompt | null;
}

export interface MoeViewOutputJson {
  gates: number[][];
  scores: number[][];
  expertOutputs: number[][];
  output: number[][];
  attention: number[][];
  maxAbsError: number;
  expertKinds: ExpertKind[];
  scoreKinds: ScoreKind[];
}

const HINTS = {
  prompt: 'null or an object with "kind" one of "vpt", "kv", "vapt"',
  'prompt.kind': 'one of "vpt", "kv", "vapt"',
  'prompt.grid': 'an array [H, W] of two integers >= 1',
  'prompt.layerNorm': 'null or an object { gamma, beta }',
};

/** Validate a moe-view input document (types, then every shape); InputError names the field. */
export function parseMoeViewInput(json: unknown): MoeViewInput {
  const raw = parseInput(moeViewInputSchema, json, '', HINTS);
  const X = toMat(raw.X, 'X');
  const N = X.rows;
  const d = X.cols;
  const WQ = toMat(raw.WQ, 'WQ', [d, 'd']);
  const dk = WQ.cols;
  const WK = toMat(raw.WK, 'WK', [d, 'd'], [dk, 'dk']);
  const WV = toMat(raw.WV, 'WV', [d, 'd']);
  const dv = WV.cols;
  const head: Head = { WQ, WK, WV };
  const p = raw.prompt;
  if (p === null) return { head, X, prompt: null };
  switch (p.kind) {
    case 'vpt': {
      const P = toMat(p.P, 'prompt.P', undefined, [d, 'd']);
      return { head, X, prompt: { kind: 'vpt', P, mode: p.mode } };
    }
    case 'kv': {
      const K = toMat(p.K, 'prompt.K', undefined, [dk, 'dk']);
      const V = toMat(p.V, 'prompt.V', [K.rows, 'L, the number of key prompts'], [dv, 'dv']);
      return { head, X, prompt: { kind: 'e2vpt', keys: K, values: V } };
    }
    case 'vapt': {
      const [H, W] = p.grid;
      if (H * W !== N) throw new InputError('prompt.grid', `H*W equal to the number of tokens N = ${N}`, `${H}x${W} = ${H * W}`);
      if (p.kernel.length < 1) throw new InputError('prompt.kernel', 'a K x K array with K >= 1', 'an array of length 0');
      const K = p.kernel.length;
      const kernel = toMat(p.kernel, 'prompt.kernel', [K, 'K'], [K, 'K']);
      let hw: [number, number];
      try {
        hw = convGrid([H, W], K, p.padding);
      } catch {
        throw new InputError('prompt.kernel', `a kernel size K <= ${Math.min(H, W) + 2 * p.padding} (the padded grid)`, `K = ${K}`);
      }
      const hw1 = hw[0] * hw[1];
      const alpha = toMat(p.alpha, 'prompt.alpha', undefined, [hw1, `H'W' = ${hw[0]}x${hw[1]}`]);
      const L = alpha.rows;
      const bias = toVec(p.bias, 'prompt.bias', [L, 'L']);
      const W1 = toMat(p.W1, 'prompt.W1', undefined, [d, 'd']);
      const r = W1.rows;
      const W2 = toMat(p.W2, 'prompt.W2', [d, 'd'], [r, 'r']);
      const layerNorm =
        p.layerNorm === null
          ? null
          : { gamma: toVec(p.layerNorm.gamma, 'prompt.layerNorm.gamma', [d, 'd']), beta: toVec(p.layerNorm.beta, 'prompt.layerNorm.beta', [d, 'd']) };
      return { head, X, prompt: { kind: 'vapt', grid: [H, W], kernel, padding: p.padding, alpha, bias, W1, W2, residual: p.residual, layerNorm } };
    }
  }
}

/** Work bound of one moe-view run: query rows x experts x the widest dimension. */
export const MAX_MOE_VIEW_WORK = 50_000_000;

/** Refuse an input whose view would take minutes or gigabytes (InputError on X). */
export function checkMoeViewSize(input: MoeViewInput): void {
  const p = input.prompt;
  const L = p === null ? 0 : p.kind === 'vpt' ? p.P.rows : p.kind === 'e2vpt' ? (p.keys?.rows ?? 0) : p.alpha.rows;
  const Q = input.X.rows + (p?.kind === 'vpt' && p.mode === 'shallow' ? L : 0);
  const width = Math.max(input.X.cols, input.head.WQ.cols, input.head.WV.cols);
  const work = Q * (input.X.rows + L) * width;
  if (work > MAX_MOE_VIEW_WORK)
    throw new InputError('X', `a head small enough for the exact view (query rows x experts x width <= ${MAX_MOE_VIEW_WORK})`, `${Q} x ${input.X.rows + L} x ${width} = ${work}`);
}

/** The first non-finite entry of a matrix, named `name[i][j]`, as an InputError. */
function requireFinite(m: Mat, name: string): void {
  for (let t = 0; t < m.data.length; t++) {
    const v = m.data[t] as number;
    if (!Number.isFinite(v))
      throw new InputError(`${name}[${Math.floor(t / m.cols)}][${t % m.cols}]`, 'a finite value: the input entries are too large for float64 here (scale X, the weights or the prompt down)', String(v));
  }
}

/** Compute the contract's output for a validated input; a non-finite result is an InputError naming it. */
export function moeViewOutput(input: MoeViewInput, seed = 1): MoeViewOutputJson & { view: MoeView } {
  checkMoeViewSize(input);
  const view = promptedView(input.head, input.X, input.prompt);
  const direct = promptedAttention(input.head, input.X, input.prompt);
  requireFinite(view.scores, 'scores');
  requireFinite(view.gates, 'gates');
  requireFinite(view.expertOutputs, 'expertOutputs');
  requireFinite(view.output, 'output');
  requireFinite(direct, 'attention');
  let maxAbsError = 0;
  for (let t = 0; t < direct.data.length; t++) maxAbsError = Math.max(maxAbsError, Math.abs((view.output.data[t] as number) - (direct.data[t] as number)));
  if (!Number.isFinite(maxAbsError)) throw new InputError('maxAbsError', 'a finite number (the reconstruction and the attention overflow float64)', String(maxAbsError));
  const kinds = promptedKinds(input.head, input.X, input.prompt, { seed });
  return {
    view,
    gates: toRows(view.gates),
    scores: toRows(view.scores),
    expertOutputs: toRows(view.expertOutputs),
    output: toRows(view.output),
    attention: toRows(direct),
    maxAbsError,
    expertKinds: kinds.expertKinds,
    scoreKinds: kinds.scoreKinds,
  };
}

/** Parse a JSON document and compute the moe-view output (no `view`). */
export function runMoeView(json: unknown): MoeViewOutputJson {
  const { view: _view, ...out } = moeViewOutput(parseMoeViewInput(json));
  return out;
}
