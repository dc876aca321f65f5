/**
 * The ViT and its tuning methods in tfjs (issue 4): model, prompt methods, backend selection.
 * `createMethod` builds any method from its name and (for prompt methods) its config from
 * src/prompts/config.ts.
 */
import type { E2vptConfig, VaptConfig, VptConfig } from '../prompts/config.js';
import type { MethodName, TuningMethod, VitWeights } from './model.js';
import type { MethodOptions } from './prompts/common.js';
import { createE2vpt } from './prompts/e2vpt.js';
import { createFullFinetune } from './prompts/full-finetune.js';
import { createLinearProbe } from './prompts/linear-probe.js';
import { createVapt } from './prompts/vapt.js';
import { createVpt } from './prompts/vpt.js';

export * from './model.js';
export * from './backend.js';
export { layerPerN, layerPerNMarkdown, type LayerPerNRow, type LossSummary } from './planted-layer-table.js';
export { type MethodOptions } from './prompts/common.js';
export { createVpt, type VptMethod } from './prompts/vpt.js';
export {
  createE2vpt,
  fullMasks,
  addImportances,
  prune,
  pruneTokens,
  pruneSegments,
  SEGMENTS,
  type E2vptMethod,
  type E2vptMasks,
  type E2vptLayerMasks,
} from './prompts/e2vpt.js';
export { createVapt, vaptPrompts, sharedKernelConv, type VaptMethod, type VaptLayerWeights, type VaptMlp } from './prompts/vapt.js';
export { createLinearProbe } from './prompts/linear-probe.js';
export { createFullFinetune } from './prompts/full-finetune.js';

/** A method by name; prompt methods need their config (kind must match). */
export type MethodSpec =
  | { readonly name: 'vpt-deep' | 'vpt-shallow'; readonly config: VptConfig }
  | { readonly name: 'e2vpt'; readonly config: E2vptConfig }
  | { readonly name: 'vapt'; readonly config: VaptConfig }
  | { readonly name: 'linear-probe' | 'full-finetune' };

export function createMethod(backbone: VitWeights, spec: MethodSpec, options: MethodOptions): TuningMethod {
  switch (spec.name) {
    case 'vpt-deep':
    case 'vpt-shallow':
      return createVpt(backbone, { ...spec.config, mode: spec.name === 'vpt-deep' ? 'deep' : 'shallow' }, options);
    case 'e2vpt':
      return createE2vpt(backbone, spec.config, options);
    case 'vapt':
      return createVapt(backbone, spec.config, options);
    case 'linear-probe':
      return createLinearProbe(backbone, options);
    case 'full-finetune':
      return createFullFinetune(backbone, options);
  }
}

export const METHOD_NAMES: readonly MethodName[] = ['vpt-shallow', 'vpt-deep', 'e2vpt', 'vapt', 'linear-probe', 'full-finetune'];
