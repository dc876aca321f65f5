/**
 * A small Vision Transformer in @tensorflow/tfjs, written functionally: every weight is an
 * explicit `tf.Variable` in a plain record, so a backbone can be frozen, cloned for full
 * fine-tuning, saved by name, and prompt methods can be plugged in without subclassing.
 *
 *   patches  = patchify(images) W_patch + b_patch                       [B, N, D], N = (S/p)^2
 *   tokens   = [cls ; patches] + pos                                    [B, 1 + N, D]
 *   layer l: prompts_l = method.layerPrompts(l, tokens, prompts_{l-1})  [B, L_l, D] (or none)
 *            seq  = [tokens ; prompts_l]                                 prompts go LAST
 *            seq += MHA(LN1(seq); extra keys/values = method.kvPrompts(l))
 *            seq += W2 gelu(W1 LN2(seq) + b1) + b2
 *   logits   = LN_f(seq[:, 0]) W_head + b_head
 *
 * Prompt tokens are appended after the CLS and patch tokens (VPT inserts them between CLS and the
 * patches; attention is permutation-equivariant and position embeddings are added before the
 * prompts, so the order changes nothing) — this matches `src/attention`'s MoE view, where the N
 * token experts come first and the L prompt experts last.
 *
 * Multi-head attention keeps q, k, v as separate [D, D] projections (no fused qkv and no rank-5
 * slices, which are slow on the wasm backend); heads are split by reshape [B, T, H, dh] and a
 * rank-4 transpose.
 *
 * No top-level await: notebooks `require()` this module.
 */
import * as tf from '@tensorflow/tfjs';
import type { VitShape } from '../prompts/config.js';

/** Architecture of a ViT. `imageSize` must be a multiple of `patch`, `width` of `heads`. */
export interface VitConfig {
  /** Side S of the square input image, in pixels. */
  readonly imageSize: number;
  /** Input channels C (1 for MNIST). */
  readonly channels: number;
  /** Patch side p; the patch grid is (S/p) x (S/p). */
  readonly patch: number;
  /** Token width D. */
  readonly width: number;
  /** Number of transformer blocks. */
  readonly depth: number;
  /** Attention heads per block (D / heads per head). */
  readonly heads: number;
  /** Hidden width of the MLP is mlpRatio * D. */
  readonly mlpRatio: number;
  /** Output classes of the classification head. */
  readonly classes: number;
}

export interface LayerNormWeights {
  /** [D] */
  readonly gamma: tf.Variable;
  /** [D] */
  readonly beta: tf.Variable;
}

/** One pre-LN transformer block. Projections act on the right: y = x W + b. */
export interface BlockWeights {
  readonly ln1: LayerNormWeights;
  /** [D, D] each; head h uses columns h*dh .. (h+1)*dh - 1 of wq, wk, wv (the MoE view's W_Q, W_K, W_V). */
  readonly wq: tf.Variable;
  readonly bq: tf.Variable;
  readonly wk: tf.Variable;
  readonly bk: tf.Variable;
  readonly wv: tf.Variable;
  readonly bv: tf.Variable;
  /** [D, D] output projection W_O, [D] bias. */
  readonly wo: tf.Variable;
  readonly bo: tf.Variable;
  readonly ln2: LayerNormWeights;
  /** [D, mlpRatio*D], [mlpRatio*D] */
  readonly w1: tf.Variable;
  readonly b1: tf.Variable;
  /** [mlpRatio*D, D], [D] */
  readonly w2: tf.Variable;
  readonly b2: tf.Variable;
}

/** Classification head: logits = features W + b. */
export interface HeadWeights {
  /** [D, classes] */
  readonly w: tf.Variable;
  /** [classes] */
  readonly b: tf.Variable;
}

/** The backbone (everything but the head) plus the pretraining head. */
export interface VitWeights {
  readonly config: VitConfig;
  /** [p*p*C, D]: a patch flattened in (row, column, channel) order times W. */
  readonly patchW: tf.Variable;
  /** [D] */
  readonly patchB: tf.Variable;
  /** [1, D] */
  readonly cls: tf.Variable;
  /** [1 + N, D], CLS position first. */
  readonly pos: tf.Variable;
  readonly blocks: readonly BlockWeights[];
  /** Final LayerNorm applied to the CLS token. */
  readonly lnF: LayerNormWeights;
  /** The head the backbone was (pre)trained with. Downstream tasks make a new one (`initHead`). */
  readonly head: HeadWeights;
}

/** Extra keys and values injected after the K/V projections (E2VPT key-value prompts, prefix tuning). */
export interface KvPrompts {
  /** [Lkv, D] keys (split into heads like projected keys). */
  readonly k: tf.Tensor2D;
  /** [Lkv, D] values. */
  readonly v: tf.Tensor2D;
}

/** What a prompt method sees at the input of layer l. */
export interface LayerInput {
  readonly layer: number;
  /** [B, 1 + N, D] CLS and patch tokens at the input of the layer (before LN1). */
  readonly tokens: tf.Tensor3D;
  /** [B, L, D] the prompt tokens as output by the previous layer, or null (none yet). */
  readonly prompts: tf.Tensor3D | null;
  /** The patch grid [rows, cols]; the patch tokens are tokens[:, 1:] in row-major order. */
  readonly grid: readonly [number, number];
}

/**
 * A prompt method as the forward pass sees it. All tensors it returns are created inside the
 * caller's tf.tidy scope; the method must not dispose them.
 */
export interface PromptHooks {
  /**
   * The prompt tokens that take part in layer l, [B, L, D], or null for none. Return
   * `input.prompts` to let the previous layer's prompt outputs flow on (VPT-shallow); return fresh
   * tokens to replace them (VPT-deep, E2VPT visual prompts, VAPT).
   */
  layerPrompts?(input: LayerInput): tf.Tensor3D | null;
  /** Key-value prompts of layer l, or null. */
  kvPrompts?(layer: number): KvPrompts | null;
}

/** Options of the forward pass. */
export interface ForwardOptions {
  /** Prompt hooks (none: the plain backbone). */
  readonly prompts?: PromptHooks;
  /** Head to use (default: the backbone's own pretraining head). */
  readonly head?: HeadWeights;
}

export const LAYER_NORM_EPS = 1e-6;

/** Number of patch tokens N and the grid. */
export function patchGrid(config: VitConfig): [number, number] {
  const g = Math.floor(config.imageSize / config.patch);
  return [g, g];
}

/** The shape `src/prompts/config.ts` counts parameters on: layers, width, patch grid. */
export function vitShape(config: VitConfig): VitShape {
  return { layers: config.depth, width: config.width, grid: patchGrid(config) };
}

/** Validate a config; throws a RangeError naming the field. */
export function checkVitConfig(c: VitConfig): void {
  const ints: Array<keyof VitConfig> = ['imageSize', 'channels', 'patch', 'width', 'depth', 'heads', 'classes'];
  for (const k of ints) {
    const v = c[k];
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`vit config: ${k} must be a positive integer, got ${String(v)}`);
  }
  if (c.imageSize % c.patch !== 0) throw new RangeError(`vit config: imageSize (${c.imageSize}) must be a multiple of patch (${c.patch})`);
  if (c.width % c.heads !== 0) throw new RangeError(`vit config: width (${c.width}) must be a multiple of heads (${c.heads})`);
  if (!(c.mlpRatio > 0) || !Number.isInteger(c.mlpRatio * c.width)) {
    throw new RangeError(`vit config: mlpRatio * width must be a positive integer, got ${c.mlpRatio} * ${c.width}`);
  }
}

/** A small default: MNIST 28x28, patch 7 (4x4 grid), width 64, 4 blocks of 4 heads. */
export const TINY_VIT: VitConfig = { imageSize: 28, channels: 1, patch: 7, width: 64, depth: 4, heads: 4, mlpRatio: 2, classes: 10 };

// ----------------------------------------------------------------------------------------------
// Initialisation

/** Deterministic seeded normal(0, std) tensor (tfjs' own seeded generator). */
function normal(shape: number[], std: number, seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, std, 'float32', seed);
}

/** Truncated-normal(0, 0.02) like timm, seeded. */
function trunc(shape: number[], seed: number, std = 0.02): tf.Tensor {
  return tf.truncatedNormal(shape, 0, std, 'float32', seed);
}

function variable(t: tf.Tensor, trainable: boolean): tf.Variable {
  const v = tf.variable(t, trainable);
  t.dispose();
  return v;
}

function layerNorm(d: number, trainable: boolean): LayerNormWeights {
  return { gamma: variable(tf.ones([d]), trainable), beta: variable(tf.zeros([d]), trainable) };
}

/**
 * Fresh ViT weights from a seed (timm-style: truncated normal 0.02 for projections, zero biases,
 * unit LayerNorms). Same seed, same weights, on every backend that implements tfjs' seeded
 * generators (all of them).
 */
export function initVit(config: VitConfig, seed: number, trainable = true): VitWeights {
  checkVitConfig(config);
  const { width: D, patch: p, channels: C, depth, classes } = config;
  const [gh, gw] = patchGrid(config);
  const N = gh * gw;
  const H = Math.round(config.mlpRatio * D);
  let s = seed * 1000 + 17;
  const next = () => (s += 1);
  const patchW = variable(normal([p * p * C, D], Math.sqrt(1 / (p * p * C)), next()), trainable);
  const patchB = variable(tf.zeros([D]), trainable);
  const cls = variable(trunc([1, D], next()), trainable);
  const pos = variable(trunc([1 + N, D], next()), trainable);
  const blocks: BlockWeights[] = [];
  for (let l = 0; l < depth; l++) {
    blocks.push({
      ln1: layerNorm(D, trainable),
      wq: variable(trunc([D, D], next()), trainable),
      bq: variable(tf.zeros([D]), trainable),
      wk: variable(trunc([D, D], next()), trainable),
      bk: variable(tf.zeros([D]), trainable),
      wv: variable(trunc([D, D], next()), trainable),
      bv: variable(tf.zeros([D]), trainable),
      wo: variable(trunc([D, D], next()), trainable),
      bo: variable(tf.zeros([D]), trainable),
      ln2: layerNorm(D, trainable),
      w1: variable(trunc([D, H], next()), trainable),
      b1: variable(tf.zeros([H]), trainable),
      w2: variable(trunc([H, D], next()), trainable),
      b2: variable(tf.zeros([D]), trainable),
    });
  }
  return {
    config,
    patchW,
    patchB,
    cls,
    pos,
    blocks,
    lnF: layerNorm(D, trainable),
    head: initHead(D, classes, next(), trainable),
  };
}

/**
 * A new classification head: W ~ truncated normal(0, 0.01) from the seed, b = 0. (Not zero: with
 * a zero head the loss gradient reaching prompts and E2VPT masks would vanish at step one.)
 */
export function initHead(width: number, classes: number, seed = 0, trainable = true): HeadWeights {
  return { w: variable(trunc([width, classes], seed, 0.01), trainable), b: variable(tf.zeros([classes]), trainable) };
}

/**
 * Every backbone variable by a stable name ('patchW', 'blocks.3.wq', 'blocks.3.ln1.gamma',
 * 'head.w', ...): the naming used by checkpoints.
 */
export function namedVitVariables(w: VitWeights): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {
    patchW: w.patchW,
    patchB: w.patchB,
    cls: w.cls,
    pos: w.pos,
    'lnF.gamma': w.lnF.gamma,
    'lnF.beta': w.lnF.beta,
    'head.w': w.head.w,
    'head.b': w.head.b,
  };
  w.blocks.forEach((b, l) => {
    const pre = `blocks.${l}.`;
    out[pre + 'ln1.gamma'] = b.ln1.gamma;
    out[pre + 'ln1.beta'] = b.ln1.beta;
    out[pre + 'ln2.gamma'] = b.ln2.gamma;
    out[pre + 'ln2.beta'] = b.ln2.beta;
    for (const k of ['wq', 'bq', 'wk', 'bk', 'wv', 'bv', 'wo', 'bo', 'w1', 'b1', 'w2', 'b2'] as const) out[pre + k] = b[k];
  });
  return out;
}

/** All backbone variables (including the pretraining head), in a stable order. */
export function vitVariables(w: VitWeights): tf.Variable[] {
  return Object.values(namedVitVariables(w));
}

/** The shape of every named backbone variable (the names of `namedVitVariables`). */
export function vitShapes(config: VitConfig): Record<string, number[]> {
  const { width: D, patch: p, channels: C, classes } = config;
  const [gh, gw] = patchGrid(config);
  const H = Math.round(config.mlpRatio * D);
  const out: Record<string, number[]> = {
    patchW: [p * p * C, D],
    patchB: [D],
    cls: [1, D],
    pos: [1 + gh * gw, D],
    'lnF.gamma': [D],
    'lnF.beta': [D],
    'head.w': [D, classes],
    'head.b': [classes],
  };
  for (let l = 0; l < config.depth; l++) {
    const pre = `blocks.${l}.`;
    for (const k of ['ln1.gamma', 'ln1.beta', 'ln2.gamma', 'ln2.beta', 'bq', 'bk', 'bv', 'bo', 'b2']) out[pre + k] = [D];
    for (const k of ['wq', 'wk', 'wv', 'wo']) out[pre + k] = [D, D];
    out[pre + 'w1'] = [D, H];
    out[pre + 'b1'] = [H];
    out[pre + 'w2'] = [H, D];
  }
  return out;
}

/** Variables of a head, by name ('head.w', 'head.b'). */
export function namedHeadVariables(h: HeadWeights, prefix = 'head.'): Record<string, tf.Variable> {
  return { [prefix + 'w']: h.w, [prefix + 'b']: h.b };
}

/** Number of scalars in a set of variables. */
export function countParameters(vars: Iterable<tf.Variable>): number {
  let n = 0;
  for (const v of vars) n += v.size;
  return n;
}

/**
 * Build weights from named tensors (the inverse of `namedVitVariables`), e.g. after loading a
 * checkpoint. Copies the tensors into new variables; throws naming a missing or misshapen entry.
 */
export function vitWeightsFromNamed(config: VitConfig, named: Readonly<Record<string, tf.Tensor>>, trainable = false): VitWeights {
  checkVitConfig(config);
  const made: Record<string, tf.Variable> = {};
  for (const [name, shape] of Object.entries(vitShapes(config))) {
    const src = named[name];
    if (src === undefined) throw new RangeError(`vit weights: missing '${name}'`);
    if (src.shape.join('x') !== shape.join('x')) {
      throw new RangeError(`vit weights: '${name}' has shape [${src.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    made[name] = tf.variable(src.clone(), trainable);
  }
  const g = (k: string): tf.Variable => made[k] as tf.Variable;
  return {
    config,
    patchW: g('patchW'),
    patchB: g('patchB'),
    cls: g('cls'),
    pos: g('pos'),
    lnF: { gamma: g('lnF.gamma'), beta: g('lnF.beta') },
    head: { w: g('head.w'), b: g('head.b') },
    blocks: Array.from({ length: config.depth }, (_, l) => {
      const pre = `blocks.${l}.`;
      return {
        ln1: { gamma: g(pre + 'ln1.gamma'), beta: g(pre + 'ln1.beta') },
        ln2: { gamma: g(pre + 'ln2.gamma'), beta: g(pre + 'ln2.beta') },
        wq: g(pre + 'wq'),
        bq: g(pre + 'bq'),
        wk: g(pre + 'wk'),
        bk: g(pre + 'bk'),
        wv: g(pre + 'wv'),
        bv: g(pre + 'bv'),
        wo: g(pre + 'wo'),
        bo: g(pre + 'bo'),
        w1: g(pre + 'w1'),
        b1: g(pre + 'b1'),
        w2: g(pre + 'w2'),
        b2: g(pre + 'b2'),
      };
    }),
  };
}

/** A copy of the weights in new variables (full fine-tuning trains a copy, not the shared backbone). */
export function cloneVit(w: VitWeights, trainable = true): VitWeights {
  const named = namedVitVariables(w);
  return vitWeightsFromNamed(w.config, named, trainable);
}

export function disposeVit(w: VitWeights): void {
  for (const v of vitVariables(w)) v.dispose();
}

// ----------------------------------------------------------------------------------------------
// Building blocks (pure functions of tensors; call inside tf.tidy)

/** LayerNorm over the last axis, eps = 1e-6 (as `src/attention`'s VAPT LayerNorm). */
export function layerNormApply<T extends tf.Tensor>(x: T, ln: { gamma: tf.Tensor; beta: tf.Tensor }, eps = LAYER_NORM_EPS): T {
  const axis = x.rank - 1;
  const { mean, variance } = tf.moments(x, axis, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), ln.gamma), ln.beta) as T;
}

/** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)). */
export function gelu<T extends tf.Tensor>(x: T): T {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)) as T;
}

/** x [B, T, Din] times w [Din, Dout] (+ b) as one 2-D matMul. */
export function dense3(x: tf.Tensor3D, w: tf.Tensor, b?: tf.Tensor): tf.Tensor3D {
  const [B, T, Din] = x.shape;
  const y = tf.matMul(tf.reshape(x, [B * T, Din]), w as tf.Tensor2D);
  const yb = b === undefined ? y : tf.add(y, b);
  return tf.reshape(yb, [B, T, w.shape[1] as number]);
}

/** Images [B, S, S, C] (NHWC) to flattened patches [B, N, p*p*C], patches row-major, pixels (row, col, channel). */
export function patchify(images: tf.Tensor4D, patch: number): tf.Tensor3D {
  const [B, S1, S2, C] = images.shape;
  const gh = Math.floor(S1 / patch);
  const gw = Math.floor(S2 / patch);
  const x = tf.reshape(images, [B * gh, patch, gw, patch * C]);
  const t = tf.transpose(x, [0, 2, 1, 3]); // [B*gh, gw, p, p*C]
  return tf.reshape(t, [B, gh * gw, patch * patch * C]);
}

/** [B, T, D] -> [B, H, T, dh] */
function splitHeads(x: tf.Tensor3D, heads: number): tf.Tensor4D {
  const [B, T, D] = x.shape;
  return tf.transpose(tf.reshape(x, [B, T, heads, D / heads]), [0, 2, 1, 3]);
}

/** [B, H, T, dh] -> [B, T, D] */
function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [B, H, T, dh] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, T, H * dh]);
}

/** Weights of one multi-head attention layer (a subset of BlockWeights; any tensors). */
export interface AttentionWeights {
  readonly wq: tf.Tensor;
  readonly bq?: tf.Tensor;
  readonly wk: tf.Tensor;
  readonly bk?: tf.Tensor;
  readonly wv: tf.Tensor;
  readonly bv?: tf.Tensor;
  readonly wo?: tf.Tensor;
  readonly bo?: tf.Tensor;
}

/**
 * Multi-head attention of the rows of x [B, T, D] over themselves plus optional key-value prompts
 * (appended after the projected keys/values, so they are experts N+1.. of the MoE view):
 *   per head h: softmax(Q_h [K_h; Kp_h]^T / sqrt(dh)) [V_h; Vp_h]      -> [B, H, T, dh]
 * Returns the per-head outputs (before W_O) and, if `wo` is given, the projected output [B, T, D].
 */
export function multiHeadAttention(
  x: tf.Tensor3D,
  w: AttentionWeights,
  heads: number,
  kv?: KvPrompts | null,
): { perHead: tf.Tensor4D; output: tf.Tensor3D | null } {
  const [B] = x.shape;
  const q = splitHeads(dense3(x, w.wq, w.bq), heads);
  let k = dense3(x, w.wk, w.bk);
  let v = dense3(x, w.wv, w.bv);
  if (kv) {
    const L = kv.k.shape[0];
    const D = kv.k.shape[1];
    k = tf.concat([k, tf.broadcastTo(tf.reshape(kv.k, [1, L, D]), [B, L, D])], 1);
    v = tf.concat([v, tf.broadcastTo(tf.reshape(kv.v, [1, L, kv.v.shape[1]]), [B, L, kv.v.shape[1]])], 1);
  }
  const kh = splitHeads(k, heads);
  const vh = splitHeads(v, heads);
  const dh = q.shape[3];
  const scores = tf.mul(tf.matMul(q, kh, false, true), 1 / Math.sqrt(dh));
  const gates = tf.softmax(scores);
  const perHead = tf.matMul(gates, vh) as tf.Tensor4D;
  const output = w.wo === undefined ? null : dense3(mergeHeads(perHead), w.wo, w.bo);
  return { perHead, output };
}

/** One pre-LN block on seq [B, T, D]. */
export function blockApply(seq: tf.Tensor3D, b: BlockWeights, heads: number, kv?: KvPrompts | null): tf.Tensor3D {
  const a = multiHeadAttention(layerNormApply(seq, b.ln1), b, heads, kv).output as tf.Tensor3D;
  const x1 = tf.add<tf.Tensor3D>(seq, a);
  const h = gelu(dense3(layerNormApply(x1, b.ln2), b.w1, b.b1));
  return tf.add<tf.Tensor3D>(x1, dense3(h, b.w2, b.b2));
}

/** CLS + patch tokens with position embeddings, [B, 1 + N, D]. */
export function embed(w: VitWeights, images: tf.Tensor4D): tf.Tensor3D {
  const B = images.shape[0];
  const D = w.config.width;
  const patches = dense3(patchify(images, w.config.patch), w.patchW, w.patchB);
  const cls = tf.broadcastTo(tf.reshape(w.cls, [1, 1, D]), [B, 1, D]);
  return tf.add<tf.Tensor3D>(tf.concat([cls, patches], 1), tf.expandDims(w.pos, 0));
}

/**
 * CLS features after the final LayerNorm, [B, D]. Call inside tf.tidy (or dispose the result).
 */
export function vitFeatures(w: VitWeights, images: tf.Tensor4D, options: ForwardOptions = {}): tf.Tensor2D {
  const cfg = w.config;
  const grid = patchGrid(cfg);
  const hooks = options.prompts;
  let tokens = embed(w, images);
  const T0 = tokens.shape[1];
  let prompts: tf.Tensor3D | null = null;
  for (let l = 0; l < cfg.depth; l++) {
    const block = w.blocks[l] as BlockWeights;
    const p = hooks?.layerPrompts ? hooks.layerPrompts({ layer: l, tokens, prompts, grid }) : null;
    const kv = hooks?.kvPrompts ? hooks.kvPrompts(l) : null;
    const seq = p === null ? tokens : tf.concat([tokens, p], 1);
    const out = blockApply(seq, block, cfg.heads, kv);
    if (p === null) {
      tokens = out;
      prompts = null;
    } else {
      const [B, T, D] = out.shape;
      tokens = tf.slice(out, [0, 0, 0], [B, T0, D]);
      prompts = tf.slice(out, [0, T0, 0], [B, T - T0, D]);
    }
  }
  const [B, , D] = tokens.shape;
  const clsOut = tf.reshape<tf.Rank.R2>(tf.slice(tokens, [0, 0, 0], [B, 1, D]), [B, D]);
  return layerNormApply(clsOut, w.lnF);
}

/** Logits [B, classes] of the given (or the backbone's own) head. Call inside tf.tidy. */
export function vitForward(w: VitWeights, images: tf.Tensor4D, options: ForwardOptions = {}): tf.Tensor2D {
  const head = options.head ?? w.head;
  const f = vitFeatures(w, images, options);
  return tf.add<tf.Tensor2D>(tf.matMul(f, head.w), head.b);
}

/** Mean softmax cross-entropy of logits [B, K] against integer labels [B]. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const k = logits.shape[1];
  const onehot = tf.oneHot(tf.cast(labels, 'int32'), k);
  return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
}

// ----------------------------------------------------------------------------------------------
// The common shape of every tuning method (src/vit/prompts/*): what trainers and sweeps use.

export type MethodName = 'vpt-shallow' | 'vpt-deep' | 'e2vpt' | 'vapt' | 'linear-probe' | 'full-finetune';

export interface TuningMethod {
  readonly name: MethodName;
  /** The backbone the method runs on: the shared frozen one, or (full fine-tuning) its own copy. */
  readonly backbone: VitWeights;
  /** The downstream classification head (trainable in every method). */
  readonly head: HeadWeights;
  /** Prompt hooks for the forward pass (absent for linear probe and full fine-tuning). */
  readonly hooks: PromptHooks;
  /** Variables the optimizer updates: prompt parameters and head (everything for full fine-tuning). */
  trainableVariables(): tf.Variable[];
  /** Variables a checkpoint stores, by stable name ('head.w', 'prompts.3', 'vapt.W1', ...). */
  namedVariables(): Record<string, tf.Variable>;
  /** Prompt parameters only; equals `paramCount` of src/prompts/config.ts for the same config. */
  readonly promptParameters: number;
  /** Everything the method tunes: prompt parameters + head (+ backbone for full fine-tuning). */
  readonly tunableParameters: number;
  /** Logits [B, classes]. Call inside tf.tidy (or dispose the result). */
  forward(images: tf.Tensor4D): tf.Tensor2D;
  /** Dispose the method's own variables (never the shared backbone). */
  dispose(): void;
}
