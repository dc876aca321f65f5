/** The exact MoE view of attention heads (docs/theory.md §1-2). */
export type { Head, MoeView, PromptExperts, ExpertKind, ScoreKind } from './types.js';
export { moeView, attention, rowSoftmax, checkHead, scoreRowInto, mixRowInto } from './head.js';
export { type MultiHead, type MultiHeadMoeView, multiHeadMoeView, hconcat } from './multihead.js';
export { type KindOptions, type Kinds, classifyView, numericalDegrees } from './kinds.js';
