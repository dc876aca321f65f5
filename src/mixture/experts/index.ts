export type { ExpertFamily } from './expert.js';
export { constantExpert } from './constant.js';
export { affineExpert } from './affine.js';
export { mlpExpert, type MlpExpertOptions } from './mlp.js';
export { activations, type Activation, type ActivationName } from './activation.js';
