/**
 * VPT (Jia et al., 2022) on the tfjs ViT. Config: `VptConfig` of src/prompts/config.ts.
 *   shallow: L prompt tokens P in R^{L x D} join the sequence at layer 0 and flow through every
 *            layer (they are query rows too: docs/theory.md §2, VPT-shallow);
 *   deep:    fresh prompts P_l at the input of every layer l; the previous layer's prompt outputs
 *            are dropped.
 * Prompt expert j of layer l in head h: key W_K^T p_j, value W_V^T p_j (constant in X, tied).
 * Parameters: L * D (shallow) or depth * L * D (deep) = paramCount(vitShape(cfg), config).
 */
import type * as tf from '@tensorflow/tfjs';
import { paramCount, type VptConfig } from '../../prompts/config.js';
import { vitShape, type LayerInput, type TuningMethod, type VitWeights } from '../model.js';
import { assembleMethod, broadcastRows, seeds, uniformVar, vptInitBound, type MethodOptions } from './common.js';

export interface VptMethod extends TuningMethod {
  readonly config: VptConfig;
  /** [L, D] per layer (deep: one per layer; shallow: one). */
  readonly prompts: readonly tf.Variable[];
}

export function createVpt(backbone: VitWeights, config: VptConfig, options: MethodOptions): VptMethod {
  const { depth, width } = backbone.config;
  const next = seeds(options.seed);
  const bound = vptInitBound(backbone);
  const layers = config.mode === 'deep' ? depth : 1;
  const prompts = Array.from({ length: layers }, () => uniformVar([config.prompts, width], bound, next()));
  const own: Record<string, tf.Variable> = {};
  prompts.forEach((p, l) => (own[`vpt.prompts.${l}`] = p));
  const hooks = {
    layerPrompts: (input: LayerInput): tf.Tensor3D | null => {
      if (config.prompts === 0) return null;
      const B = input.tokens.shape[0];
      if (config.mode === 'shallow') {
        return input.layer === 0 ? broadcastRows(prompts[0] as tf.Variable as tf.Tensor2D, B) : input.prompts;
      }
      return broadcastRows(prompts[input.layer] as tf.Variable as tf.Tensor2D, B);
    },
  };
  const method = assembleMethod({
    name: config.mode === 'deep' ? 'vpt-deep' : 'vpt-shallow',
    backbone,
    hooks,
    own,
    promptParameters: paramCount(vitShape(backbone.config), config),
    options,
  });
  return { ...method, config, prompts };
}
