/**
 * E2VPT (Han et al., ICCV 2023) on the tfjs ViT. Config: `E2vptConfig` of src/prompts/config.ts.
 *   visual prompts  P_l in R^{Lv x D} at the input of every layer (as VPT-deep);
 *   key-value prompts K_l, V_l in R^{Lkv x D} appended after the K/V projections of layer l
 *                   (split into heads like projected keys); `sharedKV`: one tensor is both;
 *   masks (non-trainable, 0/1): token masks (whole prompt) and segment masks (16 interleaved
 *                   segments: segment s covers dims s, s+16, ...) for visual and kv prompts:
 *                   p~_{jc} = token_j * segment_{j, c mod 16} * p_{jc}   (as src/prompts/e2vpt.ts).
 * Pruning: `maskImportance` = |d loss / d mask| (the loss gradient with respect to the masks,
 * summed over the batch), `prune` zeroes the lowest-importance active entries first; the
 * prune-then-rewind loop (retrain from scratch with frozen masks) lives in the trainer.
 * Parameters: depth * (Lv D + Lkv D (shared) or 2 Lkv D) = paramCount(vitShape(cfg), config);
 * masks are not parameters.
 */
import * as tf from '@tensorflow/tfjs';
import { paramCount, type E2vptConfig } from '../../prompts/config.js';
import { crossEntropy, vitShape, type KvPrompts, type LayerInput, type TuningMethod, type VitWeights } from '../model.js';
import { assembleMethod, broadcastRows, seeds, toVariable, uniformVar, vptInitBound, type MethodOptions } from './common.js';

export const SEGMENTS = 16;

/** Masks of one layer, as plain numbers. */
export interface E2vptLayerMasks {
  /** Length Lv. */
  readonly visualToken: number[];
  /** Lv rows of 16. */
  readonly visualSegment: number[][];
  /** Length Lkv. */
  readonly kvToken: number[];
  /** Lkv rows of 16. */
  readonly kvSegment: number[][];
}

/** Masks of every layer (index = layer). */
export type E2vptMasks = E2vptLayerMasks[];

export interface E2vptMethod extends TuningMethod {
  readonly config: E2vptConfig;
  /** [Lv, D] per layer. */
  readonly visual: readonly tf.Variable[];
  /** [Lkv, D] per layer (shared: also the values). */
  readonly kvKeys: readonly tf.Variable[];
  /** [Lkv, D] per layer when not shared, else the same variables as kvKeys. */
  readonly kvValues: readonly tf.Variable[];
  /** Current masks (copies of a JavaScript-side mirror: no read-back, works on every backend). */
  masks(): E2vptMasks;
  /** Replace the masks (they stay non-trainable). */
  setMasks(masks: E2vptMasks): void;
  /**
   * |d loss / d mask| for every mask entry on one batch (mean cross-entropy of the method's
   * forward pass). Accumulate over batches with `addImportances`.
   */
  maskImportance(images: tf.Tensor4D, labels: tf.Tensor1D): E2vptMasks;
  /** The same, read back asynchronously: use this on WebGPU (no synchronous read-back in Node). */
  maskImportanceAsync(images: tf.Tensor4D, labels: tf.Tensor1D): Promise<E2vptMasks>;
}

/** All-ones masks. */
export function fullMasks(depth: number, config: E2vptConfig): E2vptMasks {
  const ones = (n: number) => new Array<number>(n).fill(1);
  return Array.from({ length: depth }, () => ({
    visualToken: ones(config.visualPrompts),
    visualSegment: Array.from({ length: config.visualPrompts }, () => ones(SEGMENTS)),
    kvToken: ones(config.kvPrompts),
    kvSegment: Array.from({ length: config.kvPrompts }, () => ones(SEGMENTS)),
  }));
}

/** Elementwise sum of two importance sets of the same shape. */
export function addImportances(a: E2vptMasks, b: E2vptMasks): E2vptMasks {
  const add1 = (x: number[], y: number[]) => x.map((v, i) => v + (y[i] as number));
  return a.map((la, l) => {
    const lb = b[l] as E2vptLayerMasks;
    return {
      visualToken: add1(la.visualToken, lb.visualToken),
      visualSegment: la.visualSegment.map((r, j) => add1(r, lb.visualSegment[j] as number[])),
      kvToken: add1(la.kvToken, lb.kvToken),
      kvSegment: la.kvSegment.map((r, j) => add1(r, lb.kvSegment[j] as number[])),
    };
  });
}

/**
 * Zero the `fraction` of the currently active (non-zero) mask entries with the lowest importance
 * (ties: lower index first). Returns a new mask; entries already zero stay zero. The number
 * pruned is round(fraction * active).
 */
export function prune(mask: readonly number[], importance: readonly number[], fraction: number): number[] {
  if (importance.length !== mask.length) throw new RangeError(`prune: importance has ${importance.length} entries, mask ${mask.length}`);
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`prune: fraction must be in [0, 1], got ${fraction}`);
  const active = mask.map((m, i) => ({ m, i, s: importance[i] as number })).filter((e) => e.m !== 0);
  const k = Math.round(fraction * active.length);
  active.sort((a, b) => a.s - b.s || a.i - b.i);
  const out = mask.slice();
  for (const e of active.slice(0, k)) out[e.i] = 0;
  return out;
}

/** Prune whole prompts (token masks) of every layer together, `fraction` of the active ones, lowest importance first. */
export function pruneTokens(masks: E2vptMasks, importance: E2vptMasks, fraction: number, which: 'visual' | 'kv'): E2vptMasks {
  const key = which === 'visual' ? 'visualToken' : 'kvToken';
  const flat = masks.flatMap((m) => m[key]);
  const imp = importance.flatMap((m) => m[key]);
  const pruned = prune(flat, imp, fraction);
  let at = 0;
  return masks.map((m) => {
    const n = m[key].length;
    const part = pruned.slice(at, at + n);
    at += n;
    return { ...m, [key]: part };
  });
}

/** Prune segments of every layer together, `fraction` of the active ones, lowest importance first. */
export function pruneSegments(masks: E2vptMasks, importance: E2vptMasks, fraction: number, which: 'visual' | 'kv'): E2vptMasks {
  const key = which === 'visual' ? 'visualSegment' : 'kvSegment';
  const flat = masks.flatMap((m) => m[key].flat());
  const imp = importance.flatMap((m) => m[key].flat());
  const pruned = prune(flat, imp, fraction);
  let at = 0;
  return masks.map((m) => {
    const rows = m[key].map((r) => {
      const part = pruned.slice(at, at + r.length);
      at += r.length;
      return part;
    });
    return { ...m, [key]: rows };
  });
}

/** p~ = p * token[:, None] * segment[:, c mod 16], for p [L, D], token [L], segment [L, 16]. */
export function applyMasks(p: tf.Tensor2D, token: tf.Tensor1D, segment: tf.Tensor2D): tf.Tensor2D {
  const [L, D] = p.shape;
  if (L === 0) return p;
  const reps = Math.ceil(D / SEGMENTS);
  let seg = tf.tile(segment, [1, reps]);
  if (reps * SEGMENTS !== D) seg = tf.slice(seg, [0, 0], [L, D]);
  return tf.mul(tf.mul(p, tf.reshape(token, [L, 1])), seg);
}

interface LayerMaskTensors {
  visualToken: tf.Tensor1D;
  visualSegment: tf.Tensor2D;
  kvToken: tf.Tensor1D;
  kvSegment: tf.Tensor2D;
}

export function createE2vpt(backbone: VitWeights, config: E2vptConfig, options: MethodOptions): E2vptMethod {
  const { depth, width } = backbone.config;
  const next = seeds(options.seed);
  const bound = vptInitBound(backbone);
  const Lv = config.visualPrompts;
  const Lkv = config.kvPrompts;
  const visual = Array.from({ length: depth }, () => uniformVar([Lv, width], bound, next()));
  const kvKeys = Array.from({ length: depth }, () => uniformVar([Lkv, width], bound, next()));
  const kvValues = config.sharedKV ? kvKeys : Array.from({ length: depth }, () => uniformVar([Lkv, width], bound, next()));
  const own: Record<string, tf.Variable> = {};
  visual.forEach((v, l) => (own[`e2vpt.visual.${l}`] = v));
  kvKeys.forEach((v, l) => (own[`e2vpt.kv${config.sharedKV ? '' : 'Keys'}.${l}`] = v));
  if (!config.sharedKV) kvValues.forEach((v, l) => (own[`e2vpt.kvValues.${l}`] = v));

  const init = fullMasks(depth, config);
  const maskVars: Array<Record<keyof LayerMaskTensors, tf.Variable>> = init.map((m) => ({
    visualToken: toVariable(tf.tensor1d(m.visualToken), false),
    visualSegment: toVariable(tf.tensor2d(m.visualSegment, [Lv, SEGMENTS]), false),
    kvToken: toVariable(tf.tensor1d(m.kvToken), false),
    kvSegment: toVariable(tf.tensor2d(m.kvSegment, [Lkv, SEGMENTS]), false),
  }));
  const state: Record<string, tf.Variable> = {};
  maskVars.forEach((m, l) => {
    for (const [k, v] of Object.entries(m)) state[`e2vpt.mask.${l}.${k}`] = v;
  });
  /** Mask tensors the hooks read: the variables, or the differentiable stand-ins of maskImportance. */
  let current: LayerMaskTensors[] = maskVars as unknown as LayerMaskTensors[];

  const hooks = {
    layerPrompts: (input: LayerInput): tf.Tensor3D | null => {
      if (Lv === 0) return null;
      const m = current[input.layer] as LayerMaskTensors;
      const p = applyMasks(visual[input.layer] as tf.Variable as tf.Tensor2D, m.visualToken, m.visualSegment);
      return broadcastRows(p, input.tokens.shape[0]);
    },
    kvPrompts: (layer: number): KvPrompts | null => {
      if (Lkv === 0) return null;
      const m = current[layer] as LayerMaskTensors;
      const k = applyMasks(kvKeys[layer] as tf.Variable as tf.Tensor2D, m.kvToken, m.kvSegment);
      const v = config.sharedKV ? k : applyMasks(kvValues[layer] as tf.Variable as tf.Tensor2D, m.kvToken, m.kvSegment);
      return { k, v };
    },
  };
  const method = assembleMethod({
    name: 'e2vpt',
    backbone,
    hooks,
    own,
    state,
    promptParameters: paramCount(vitShape(backbone.config), config),
    options,
  });

  const copy = (ms: E2vptMasks): E2vptMasks =>
    ms.map((m) => ({
      visualToken: m.visualToken.slice(),
      visualSegment: m.visualSegment.map((r) => r.slice()),
      kvToken: m.kvToken.slice(),
      kvSegment: m.kvSegment.map((r) => r.slice()),
    }));
  let mirror = copy(init);
  const masks = (): E2vptMasks => copy(mirror);

  const setMasks = (ms: E2vptMasks): void => {
    if (ms.length !== depth) throw new RangeError(`e2vpt masks: ${ms.length} layers, expected ${depth}`);
    ms.forEach((m, l) => {
      const v = maskVars[l] as Record<keyof LayerMaskTensors, tf.Variable>;
      tf.tidy(() => {
        v.visualToken.assign(tf.tensor1d(m.visualToken));
        v.visualSegment.assign(tf.tensor2d(m.visualSegment, [Lv, SEGMENTS]));
        v.kvToken.assign(tf.tensor1d(m.kvToken));
        v.kvSegment.assign(tf.tensor2d(m.kvSegment, [Lkv, SEGMENTS]));
      });
    });
    mirror = copy(ms);
  };

  /** |d loss / d mask| as tensors, 4 per layer (visualToken, visualSegment, kvToken, kvSegment). */
  const importanceTensors = (images: tf.Tensor4D, labels: tf.Tensor1D): tf.Tensor[] => {
    const flat: tf.Tensor[] = maskVars.flatMap((m) => [m.visualToken, m.visualSegment, m.kvToken, m.kvSegment]);
    // Masks of an empty prompt set take no part in the loss: their importance is empty.
    const used = flat.map((_, i) => (i % 4 < 2 ? Lv : Lkv) > 0);
    const xs = flat.filter((_, i) => used[i]);
    if (xs.length === 0) return flat.map((t) => tf.zeros(t.shape));
    return tf.tidy(() => {
      const g = tf.grads((...ts: tf.Tensor[]) => {
        let at = 0;
        const all = flat.map((t, i) => (used[i] ? (ts[at++] as tf.Tensor) : t));
        current = maskVars.map((_, l) => ({
          visualToken: all[4 * l] as tf.Tensor1D,
          visualSegment: all[4 * l + 1] as tf.Tensor2D,
          kvToken: all[4 * l + 2] as tf.Tensor1D,
          kvSegment: all[4 * l + 3] as tf.Tensor2D,
        }));
        try {
          return tf.mul(crossEntropy(method.forward(images), labels), images.shape[0]) as tf.Scalar;
        } finally {
          current = maskVars as unknown as LayerMaskTensors[];
        }
      });
      const gs = g(xs).map((t) => tf.abs(t));
      let at = 0;
      return flat.map((t, i) => (used[i] ? (gs[at++] as tf.Tensor) : tf.zeros(t.shape)));
    });
  };
  const unflatten = (arr: unknown[]): E2vptMasks =>
    maskVars.map((_, l) => ({
      visualToken: arr[4 * l] as number[],
      visualSegment: arr[4 * l + 1] as number[][],
      kvToken: arr[4 * l + 2] as number[],
      kvSegment: arr[4 * l + 3] as number[][],
    }));
  const maskImportance = (images: tf.Tensor4D, labels: tf.Tensor1D): E2vptMasks => {
    const grads = importanceTensors(images, labels);
    const arr = grads.map((t) => t.arraySync());
    tf.dispose(grads);
    return unflatten(arr);
  };
  const maskImportanceAsync = async (images: tf.Tensor4D, labels: tf.Tensor1D): Promise<E2vptMasks> => {
    const grads = importanceTensors(images, labels);
    const arr = await Promise.all(grads.map((t) => t.array()));
    tf.dispose(grads);
    return unflatten(arr);
  };

  return { ...method, config, visual, kvKeys, kvValues, masks, setMasks, maskImportance, maskImportanceAsync };
}
