/**
 * prompt-experts public API. Data flows one way:
 * config -> model (attention, prompts, mixture) -> samples -> estimator -> losses -> rates -> figures.
 */
export { InputError } from './util/errors.js';
export { makeRng, deriveSeed, type Rng } from './util/rng.js';
export * as mat from './linalg/mat.js';
export * as attention from './attention/index.js';
export * as prompts from './prompts/index.js';
export { moeView, multiHeadMoeView, classifyView } from './attention/index.js';
export { promptedView, promptedAttention, promptedKinds, paramCount, paramTable, runMoeView } from './prompts/index.js';
export { promptMixture, randomTruth, type PromptMixtureConfig, type PromptMixtureFamily } from './mixture/prompt-mixture.js';
