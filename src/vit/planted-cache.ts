/**
 * The frozen computations of the planted-layer study, done once per image set: the backbone
 * (tfjs, any backend) runs the images up to the input of block b, LayerNorm LN1_b is applied,
 * and the token matrices are kept as float64, with block b's W_Q, W_K, W_V and biases. All
 * fitting after this is float64 JavaScript (src/vit/planted-layer.ts), no tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../util/errors.js';
import { blockApply, embed, layerNormApply, patchGrid, type BlockWeights, type VitWeights } from './model.js';
import type { ImageSet } from './data/tasks.js';
import { imagesTensor } from './train/train.js';
import type { LayerTokens, LayerWeights } from './planted-layer.js';

export interface PlantedCache {
  readonly block: number;
  readonly tokens: LayerTokens;
  readonly weights: LayerWeights;
  readonly seconds: number;
}

/** Block b's attention weights as float64 (y = x W + b, head h = columns h dh .. (h+1) dh - 1). */
export function layerWeightsOf(backbone: VitWeights, block: number): LayerWeights {
  const b = backbone.blocks[block];
  if (b === undefined) throw new InputError('block', `a block index in [0, ${backbone.blocks.length - 1}]`, String(block));
  const f = (t: tf.Tensor): Float64Array => Float64Array.from(t.dataSync());
  return { d: backbone.config.width, heads: backbone.config.heads, WQ: f(b.wq), WK: f(b.wk), WV: f(b.wv), bQ: f(b.bq), bK: f(b.bk), bV: f(b.bv) };
}

/** LN1_b(tokens at the input of block b) for every image of `set`, computed `batch` images at a time. */
export function cacheLayerInput(backbone: VitWeights, block: number, set: ImageSet, batch = 500): PlantedCache {
  const t0 = Date.now();
  const weights = layerWeightsOf(backbone, block);
  const d = backbone.config.width;
  const grid = patchGrid(backbone.config);
  const T = 1 + grid[0] * grid[1];
  const n = set.count;
  const X = new Float64Array(n * T * d);
  for (let s = 0; s < n; s += batch) {
    const rows = Array.from({ length: Math.min(batch, n - s) }, (_, i) => s + i);
    const data = tf.tidy(() => {
      let seq = embed(backbone, imagesTensor(set, rows));
      for (let l = 0; l < block; l++) seq = blockApply(seq, backbone.blocks[l] as BlockWeights, backbone.config.heads);
      return layerNormApply(seq, (backbone.blocks[block] as BlockWeights).ln1);
    });
    X.set(data.dataSync(), s * T * d);
    data.dispose();
  }
  return { block, tokens: { n, T, d, X, grid }, weights, seconds: (Date.now() - t0) / 1000 };
}

/** The first n images of a cache (a view, no copy). */
export function firstImages(tokens: LayerTokens, n: number): LayerTokens {
  if (!Number.isInteger(n) || n < 1 || n > tokens.n) throw new InputError('n', `an integer in [1, ${tokens.n}]`, String(n));
  return { ...tokens, n, X: tokens.X.subarray(0, n * tokens.T * tokens.d) };
}
