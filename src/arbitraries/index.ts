/**
 * fast-check arbitraries for property tests of attention heads and prompts (one per file):
 *   import { promptedHeadArb } from 'prompt-experts/arbitraries';
 */
export { matrixArb, vectorArb } from './matrix.js';
export { type Dims, type DimsOptions, dimsArb } from './dims.js';
export { headArb } from './head.js';
export { tokensArb } from './tokens.js';
export { type PromptKind, PROMPT_KINDS, vptPromptArb, kvPromptArb, e2vptPromptArb, vaptPromptArb, headPromptArb } from './prompt.js';
export { type PromptedHead, promptedHeadArb } from './prompted-head.js';
export { type ContractKind, moeViewInputArb } from './moe-view-input.js';
export { vitShapeArb, vptConfigArb, e2vptConfigArb, vaptConfigArb, promptConfigArb } from './prompt-config.js';
