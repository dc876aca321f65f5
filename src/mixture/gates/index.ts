export type { ScoreFamily, ParamBlock } from './score.js';
export { blocksSize } from './score.js';
export { affineScore } from './affine.js';
export { quadraticScore } from './quadratic.js';
export { softmaxGate, softmaxInPlace, type SoftmaxGate } from './softmax.js';
