/**
 * VAPT (arXiv 2501.18936, official code) on the tfjs ViT. Config: `VaptConfig` of
 * src/prompts/config.ts. At the input of layer l, from the patch tokens X (N = H x W, row-major):
 *   U   = LN_l(X)                              (per-layer LayerNorm, eps 1e-6; optional)
 *   C   = conv_K(U)                            one K x K kernel k_l shared by all D channels,
 *                                              zero padding `padding`, stride 1: H' x W' tokens
 *                                              C[i,j,:] = sum_{a,b} k_l[a,b] U_pad[i+a, j+b, :]
 *   G   = alpha_l C + b_l                      token-wise projector alpha_l in R^{L x H'W'}, bias b_l in R^L
 *   P   = G + W2 relu(W1 G)   (residual)       feature MLP shared by all layers, W1 in R^{r x D},
 *       = W2 relu(W1 G)       (no residual)    W2 in R^{D x r}, no biases
 * The adaptive prompts P replace the previous layer's prompt outputs (deep style). With
 * `staticFirstLayer`, layer 0 uses ordinary learned prompts (as VPT) and layers 1.. are adaptive.
 * Prompt expert j: W_V^T P_j(X), nonlinear in X. The convolution is K^2 shifted rank-4 slices
 * times scalars (works and differentiates on every backend; wasm has no conv filter gradient).
 * Parameters = paramCount(vitShape(cfg), config) ('official' accounting).
 */
import * as tf from '@tensorflow/tfjs';
import { convGrid, paramCount, type VaptConfig } from '../../prompts/config.js';
import { LAYER_NORM_EPS, layerNormApply, vitShape, type LayerInput, type TuningMethod, type VitWeights } from '../model.js';
import { assembleMethod, broadcastRows, seeds, toVariable, uniformVar, vptInitBound, type MethodOptions } from './common.js';

/** The weights of one adaptive layer (any tensors, so tests can pass constants). */
export interface VaptLayerWeights {
  /** [D] each, or absent when the config has no LayerNorm. */
  readonly ln?: { readonly gamma: tf.Tensor; readonly beta: tf.Tensor };
  /** [K, K] */
  readonly kernel: tf.Tensor;
  /** [L, H'W'] */
  readonly alpha: tf.Tensor;
  /** [L], or absent without projector bias. */
  readonly bias?: tf.Tensor;
}

/** The shared feature MLP, W2 relu(W1 u): W1 [r, D], W2 [D, r] (the moe-view contract's layout). */
export interface VaptMlp {
  readonly W1: tf.Tensor;
  readonly W2: tf.Tensor;
}

/** Channel-wise K x K convolution of a grid [B, H, W, D] with one kernel [K, K] for all channels. */
export function sharedKernelConv(grid: tf.Tensor4D, kernel: tf.Tensor, padding: number): tf.Tensor4D {
  const K = kernel.shape[0] as number;
  const x = padding > 0 ? tf.pad(grid, [[0, 0], [padding, padding], [padding, padding], [0, 0]]) : grid;
  const [B, Hp, Wp, D] = x.shape;
  const Ho = Hp - K + 1;
  const Wo = Wp - K + 1;
  const flatK = tf.reshape(kernel, [K * K]);
  let out: tf.Tensor4D | null = null;
  for (let a = 0; a < K; a++) {
    for (let b = 0; b < K; b++) {
      const kab = tf.slice(flatK, [a * K + b], [1]);
      const term = tf.mul(tf.slice(x, [0, a, b, 0], [B, Ho, Wo, D]), kab) as tf.Tensor4D;
      out = out === null ? term : tf.add<tf.Tensor4D>(out, term);
    }
  }
  return out as tf.Tensor4D;
}

/**
 * Adaptive prompts [B, L, D] from patch tokens [B, N, D] on the grid [H, W]: the formula in the
 * header. Pure function of tensors (call inside tf.tidy).
 */
export function vaptPrompts(
  patches: tf.Tensor3D,
  grid: readonly [number, number],
  layer: VaptLayerWeights,
  mlp: VaptMlp,
  config: Pick<VaptConfig, 'padding' | 'residual'>,
): tf.Tensor3D {
  const [B, N, D] = patches.shape;
  const [H, W] = grid;
  if (H * W !== N) throw new RangeError(`vapt: ${N} patch tokens do not fill a ${H}x${W} grid`);
  const u = layer.ln ? layerNormApply(patches, layer.ln, LAYER_NORM_EPS) : patches;
  const c = sharedKernelConv(tf.reshape(u, [B, H, W, D]), layer.kernel, config.padding);
  const M = c.shape[1] * c.shape[2];
  const L = layer.alpha.shape[0] as number;
  if (layer.alpha.shape[1] !== M) throw new RangeError(`vapt: alpha has ${layer.alpha.shape[1]} columns, the conv grid ${M} tokens`);
  // G = alpha C: [L, M] x [B, M, D] via [M, B*D].
  const cm = tf.reshape(tf.transpose(tf.reshape(c, [B, M, D]), [1, 0, 2]), [M, B * D]);
  let g: tf.Tensor3D = tf.transpose(tf.reshape(tf.matMul(layer.alpha as tf.Tensor2D, cm), [L, B, D]), [1, 0, 2]);
  if (layer.bias) g = tf.add(g, tf.reshape(layer.bias, [1, L, 1]));
  const g2 = tf.reshape(g, [B * L, D]);
  // Explicit transposes: wasm's matMul with a transpose flag is several times slower.
  const hidden = tf.relu(tf.matMul(g2, tf.transpose(mlp.W1 as tf.Tensor2D)));
  const f = tf.matMul(hidden, tf.transpose(mlp.W2 as tf.Tensor2D));
  const p = config.residual ? tf.add(g2, f) : f;
  return tf.reshape(p, [B, L, D]);
}

export interface VaptMethod extends TuningMethod {
  readonly config: VaptConfig;
  /** [L, D] static prompts of layer 0 (staticFirstLayer), else null. */
  readonly staticPrompts: tf.Variable | null;
  /** Adaptive-layer weights by layer index (undefined at layer 0 with staticFirstLayer). */
  readonly layers: ReadonlyArray<(VaptLayerWeights & { kernel: tf.Variable; alpha: tf.Variable }) | undefined>;
  readonly mlp: { W1: tf.Variable; W2: tf.Variable };
}

export function createVapt(backbone: VitWeights, config: VaptConfig, options: MethodOptions): VaptMethod {
  const cfg = backbone.config;
  const D = cfg.width;
  const shape = vitShape(cfg);
  const [Ho, Wo] = convGrid(shape.grid, config.kernel, config.padding);
  const M = Ho * Wo;
  const L = config.prompts;
  const K = config.kernel;
  const r = config.rank;
  const next = seeds(options.seed);
  const own: Record<string, tf.Variable> = {};
  const staticPrompts = config.staticFirstLayer ? uniformVar([L, D], vptInitBound(backbone), next()) : null;
  if (staticPrompts) own['vapt.static'] = staticPrompts;
  const layers: Array<(VaptLayerWeights & { kernel: tf.Variable; alpha: tf.Variable }) | undefined> = [];
  for (let l = 0; l < cfg.depth; l++) {
    if (l === 0 && config.staticFirstLayer) {
      layers.push(undefined);
      continue;
    }
    const ln = config.layerNorm ? { gamma: toVariable(tf.ones([D])), beta: toVariable(tf.zeros([D])) } : undefined;
    const kernel = uniformVar([K, K], 1 / K, next());
    const alpha = uniformVar([L, M], Math.sqrt(6 / (L + M)), next());
    const bias = config.projectorBias ? toVariable(tf.zeros([L])) : undefined;
    const lw = { kernel, alpha, ...(ln ? { ln } : {}), ...(bias ? { bias } : {}) };
    layers.push(lw);
    if (ln) {
      own[`vapt.${l}.ln.gamma`] = ln.gamma;
      own[`vapt.${l}.ln.beta`] = ln.beta;
    }
    own[`vapt.${l}.kernel`] = kernel;
    own[`vapt.${l}.alpha`] = alpha;
    if (bias) own[`vapt.${l}.bias`] = bias;
  }
  const mlp = {
    W1: uniformVar([r, D], Math.sqrt(6 / (r + D)), next()),
    W2: uniformVar([D, r], Math.sqrt(6 / (r + D)) * 0.1, next()),
  };
  own['vapt.W1'] = mlp.W1;
  own['vapt.W2'] = mlp.W2;

  const hooks = {
    layerPrompts: (input: LayerInput): tf.Tensor3D | null => {
      const B = input.tokens.shape[0];
      if (input.layer === 0 && staticPrompts) return broadcastRows(staticPrompts as tf.Tensor2D, B);
      const lw = layers[input.layer] as VaptLayerWeights;
      const [, T, Dm] = input.tokens.shape;
      const patches = tf.slice(input.tokens, [0, 1, 0], [B, T - 1, Dm]);
      return vaptPrompts(patches, input.grid, lw, mlp, config);
    },
  };
  const method = assembleMethod({
    name: 'vapt',
    backbone,
    hooks,
    own,
    promptParameters: paramCount(shape, config),
    options,
  });
  return { ...method, config, staticPrompts, layers, mlp };
}
