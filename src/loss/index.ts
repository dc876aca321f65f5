/** Losses between fitted and true mixing measures: the general Voronoi loss, its named presets, and errors after optimal matching. */
export {
  voronoiLoss,
  voronoiBreakdown,
  blockDistance,
  singletonOneElseTwo,
  type ExponentRule,
  type VoronoiOptions,
  type VoronoiCell,
  type VoronoiBreakdown,
} from './voronoi.js';
export {
  softmaxD1,
  gaussianTypeI,
  gaussianTypeII,
  softmaxGaussianD2,
  softmaxGaussianD1,
  hoNguyenR,
  lossPreset,
  presetLoss,
  presetBreakdown,
  LOSS_PRESETS,
  type LossPresetName,
  type GaussianPresetOptions,
} from './presets.js';
export { hungarian, matchedErrors, type MatchedErrors, type MatchingOptions } from './matching.js';
export { atomReport, ATOM_LOSSES, type AtomLossName, type AtomHealthOptions, type AtomReport, type FittedAtomReport, type CellReport } from './atoms.js';
export {
  dendrogram,
  dissimilarity,
  mergeAtoms,
  mergeToAtoms,
  SOFTMAX_GAUSSIAN_DISSIMILARITY,
  type Dendrogram,
  type DendrogramStep,
  type DissimilarityGroup,
} from './dendrogram.js';
export { nmoeCodeLoss, type NmoeCodeLossName } from './nmoe-code.js';
