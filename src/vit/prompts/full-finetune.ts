/**
 * Full fine-tuning baseline: a private trainable copy of the backbone (the shared frozen one is
 * never modified) and a new head. The copy's own pretraining head is not used and not trained.
 * Prompt parameters: 0; tunable: every backbone parameter except the pretraining head, plus the
 * new head.
 */
import type * as tf from '@tensorflow/tfjs';
import { cloneVit, namedVitVariables, type TuningMethod, type VitWeights } from '../model.js';
import { assembleMethod, type MethodOptions } from './common.js';

export function createFullFinetune(backbone: VitWeights, options: MethodOptions): TuningMethod {
  const copy = cloneVit(backbone, true);
  const named = namedVitVariables(copy);
  const extra: Record<string, tf.Variable> = {};
  for (const [k, v] of Object.entries(named)) if (!k.startsWith('head.')) extra[`backbone.${k}`] = v;
  return assembleMethod({
    name: 'full-finetune',
    backbone: copy,
    hooks: {},
    own: {},
    extraTrainable: extra,
    promptParameters: 0,
    options,
    ownsBackbone: true,
  });
}
