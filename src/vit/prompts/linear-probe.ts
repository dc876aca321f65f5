/**
 * Linear probe baseline: the frozen backbone's CLS features and a new trainable head.
 * Prompt parameters: 0; tunable: the head, D * classes + classes.
 */
import type { TuningMethod, VitWeights } from '../model.js';
import { assembleMethod, type MethodOptions } from './common.js';

export function createLinearProbe(backbone: VitWeights, options: MethodOptions): TuningMethod {
  return assembleMethod({ name: 'linear-probe', backbone, hooks: {}, own: {}, promptParameters: 0, options });
}
