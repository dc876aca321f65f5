/**
 * E2VPT (Han et al., ICCV 2023): visual prompts (VPT-deep tokens, p_j in R^d) plus key-value
 * prompts injected after the K/V projections (k_j in R^dk appended to the keys, v_j in R^dv to
 * the values), either separate tensors or one tensor shared as both (then dk = dv), and pruning
 * masks that multiply the prompts:
 *   token mask    m_j in {0,1}          whole prompt j,
 *   segment mask  M_{j,s}, s < 16       segment s of prompt j, which is the interleaved set of
 *                                       dims {s, s+16, s+32, ...} ("16 interleaved segments"),
 * so the masked prompt is p~_{jc} = m_j M_{j, c mod 16} p_{jc}: masked entries become exactly
 * zero, the others are unchanged.
 * Experts: visual prompt j as VPT-deep (W_V^T p~_j, score with W_K^T p~_j); key-value prompt j
 * the constant expert v~_j with score x_i^T W_Q k~_j / sqrt(dk) (untied). Order: visual, then kv.
 * Parameters per layer: Lv d + Lkv d (shared) or 2 Lkv d (separate).
 */
import { type Mat, matmul, zeros } from '../linalg/mat.js';
import { InputError } from '../util/errors.js';
import type { Head, PromptExperts } from '../attention/types.js';
import { type E2vptConfig, type VitShape, paramCount } from './config.js';
import { type Augmented, type PromptMethod, stackRows } from './method.js';

export const SEGMENTS = 16;

export interface E2vptMasks {
  /** Length Lv: multiplies whole visual prompts. */
  readonly visualToken?: ArrayLike<number>;
  /** Lv x 16: multiplies segment s (dims s, s+16, ...) of each visual prompt. */
  readonly visualSegment?: Mat;
  /** Length Lkv: multiplies whole key-value prompts (key and value). */
  readonly kvToken?: ArrayLike<number>;
  /** Lkv x 16: segment masks of the key and value prompts. */
  readonly kvSegment?: Mat;
}

export interface E2vptHeadPrompt {
  readonly kind: 'e2vpt';
  /** Lv x d visual prompts (omit for none). */
  readonly visual?: Mat;
  /** Lkv x dk key prompts (omit for none). */
  readonly keys?: Mat;
  /** Lkv x dv value prompts; omit to share the key prompts as values (needs dk = dv). */
  readonly values?: Mat;
  readonly masks?: E2vptMasks;
}

/** A key-value (prefix) prompt with separate keys and values, no visual prompts, no masks. */
export function kvPrompt(keys: Mat, values: Mat): E2vptHeadPrompt {
  return { kind: 'e2vpt', keys, values };
}

/** p~_{jc} = token[j] * segment[j][c mod 16] * p_{jc}. */
export function applyMasks(P: Mat, token?: ArrayLike<number>, segment?: Mat, field = 'masks'): Mat {
  if (token === undefined && segment === undefined) return P;
  if (token !== undefined && token.length !== P.rows) throw new InputError(`${field}.token`, `length ${P.rows} (one per prompt)`, `${token.length}`);
  if (segment !== undefined && (segment.rows !== P.rows || segment.cols !== SEGMENTS)) {
    throw new InputError(`${field}.segment`, `a ${P.rows}x${SEGMENTS} matrix`, `${segment.rows}x${segment.cols}`);
  }
  const out = zeros(P.rows, P.cols);
  for (let j = 0; j < P.rows; j++) {
    const t = token === undefined ? 1 : (token[j] as number);
    for (let c = 0; c < P.cols; c++) {
      const s = segment === undefined ? 1 : (segment.data[j * SEGMENTS + (c % SEGMENTS)] as number);
      out.data[j * P.cols + c] = t * s * (P.data[j * P.cols + c] as number);
    }
  }
  return out;
}

interface Resolved {
  visual: Mat;
  keys: Mat;
  values: Mat;
}

function resolve(head: Head, X: Mat, prompt: E2vptHeadPrompt): Resolved {
  const d = X.cols;
  const dk = head.WK.cols;
  const dv = head.WV.cols;
  const visual = prompt.visual ?? zeros(0, d);
  if (visual.rows > 0 && visual.cols !== d) throw new InputError('prompt.visual', `${d} columns (d)`, `${visual.cols}`);
  const keys = prompt.keys ?? zeros(0, dk);
  if (keys.rows > 0 && keys.cols !== dk) throw new InputError('prompt.keys', `${dk} columns (dk)`, `${keys.cols}`);
  let values = prompt.values;
  if (values === undefined) {
    if (keys.rows > 0 && dk !== dv) throw new InputError('prompt.values', `value prompts, since shared key-value prompts need dk = dv (${dk} != ${dv})`);
    values = keys.rows > 0 ? keys : zeros(0, dv);
  }
  if (values.rows !== keys.rows) throw new InputError('prompt.values', `${keys.rows} rows (one per key prompt)`, `${values.rows}`);
  if (values.rows > 0 && values.cols !== dv) throw new InputError('prompt.values', `${dv} columns (dv)`, `${values.cols}`);
  const m = prompt.masks ?? {};
  return {
    visual: applyMasks(visual, m.visualToken, m.visualSegment, 'prompt.masks.visual'),
    keys: applyMasks(keys, m.kvToken, m.kvSegment, 'prompt.masks.kv'),
    values: applyMasks(values, m.kvToken, m.kvSegment, 'prompt.masks.kv'),
  };
}

export function e2vptAugment(head: Head, X: Mat, prompt: E2vptHeadPrompt): Augmented {
  const r = resolve(head, X, prompt);
  const tokens = stackRows(X, r.visual);
  return {
    queryTokens: X,
    keys: stackRows(matmul(tokens, head.WK), r.keys),
    values: stackRows(matmul(tokens, head.WV), r.values),
  };
}

export function e2vptExperts(head: Head, X: Mat, prompt: E2vptHeadPrompt): PromptExperts {
  const r = resolve(head, X, prompt);
  return {
    keys: stackRows(matmul(r.visual, head.WK), r.keys),
    values: stackRows(matmul(r.visual, head.WV), r.values),
  };
}

export const e2vpt: PromptMethod<E2vptHeadPrompt, E2vptConfig> = {
  kind: 'e2vpt',
  augment: e2vptAugment,
  experts: e2vptExperts,
  paramCount: (vit: VitShape, config: E2vptConfig) => paramCount(vit, config),
};
