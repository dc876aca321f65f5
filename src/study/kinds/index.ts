/** The built-in model kinds, registered on import (the runner and its workers import this). */
import { registerKind } from '../registry.js';
import { meanKind } from './dummy.js';

registerKind(meanKind);
import { gaussianGatedKind } from './gaussian-gated.js';

registerKind(gaussianGatedKind);
import { promptMixtureKind } from './prompt-mixture.js';

registerKind(promptMixtureKind);
