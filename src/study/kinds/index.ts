/** The built-in model kinds, registered on import (the runner and its workers import this). */
import { registerKind } from '../registry.js';
import { meanKind } from './dummy.js';
import { gaussianGatedKind } from './gaussian-gated.js';
import { promptMixtureKind } from './prompt-mixture.js';
import { softmaxMoeKind } from './softmax-moe.js';
import { softmaxGaussianKind } from './softmax-gaussian.js';
import { contaminatedKind } from './contaminated.js';

registerKind(meanKind);
registerKind(gaussianGatedKind);
// The losses prompt-mixture cells report (declared here so the study's "loss" is checked early).
registerKind(promptMixtureKind);
registerKind(softmaxMoeKind);
registerKind(softmaxGaussianKind);
registerKind(contaminatedKind);
