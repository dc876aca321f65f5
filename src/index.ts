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
export * as gates from './mixture/gates/index.js';
export * as experts from './mixture/experts/index.js';
export { softmaxMoe, type SoftmaxMoeConfig, type SoftmaxMoeFamily, type GateSpec, type ExpertSpec } from './mixture/softmax-moe.js';
export { sampleInputs, sampleResponses, simulate, inputSpecDim, type InputSpec, type SimulateOptions } from './mixture/sample.js';
export type { RegressionFamily, Samples } from './mixture/family.js';
export type { Atom, MixingMeasure } from './mixture/measure.js';
export type { Estimator, FitOptions, FitResult, FitDiagnostics, StartRecord, Init } from './estimate/estimator.js';
export {
  LevenbergMarquardt,
  leastSquares,
  validateSamples,
  meanSquaredResidual,
  type LevenbergMarquardtOptions,
  type LeastSquaresFitResult,
  type LeastSquaresDiagnostics,
  type LmRun,
  type StopReason,
} from './estimate/least-squares.js';
export { resolveFold, wasmFoldStatus, FOLD_ENV, type FoldKind } from './linalg/gram-fold.js';
export { initialTheta, expandMeasure, nearInit, shrinkingScale, type InitCapable } from './estimate/init.js';
export { convergenceProperty, convergenceOutcome, type ConvergencePropertyConfig, type ConvergenceOutcome } from './estimate/property.js';
export * as loss from './loss/index.js';
export { voronoiLoss, presetLoss, matchedErrors, hungarian } from './loss/index.js';
export * as rates from './rates/index.js';
export { fitSlope, fitLogRate, judgeRate } from './rates/index.js';
export * as gaussianGated from './mixture/gaussian-gated.js';
export * as softmaxGaussian from './mixture/softmax-gaussian.js';
export { fitEmGaussianGated, emGaussianGated, resolveEmPass, EM_PASS_ENV, type EmPassKind } from './estimate/em-gaussian-gated.js';
export { wasmEmStatus } from './estimate/em-d1-kernel.js';
export { fitEmSoftmaxGaussian, emSoftmaxGaussian } from './estimate/em-softmax-gaussian.js';
export { measureToJson, measureFromJson, paramNames } from './mixture/measure.js';
export { contaminatedMoe, type ContaminatedConfig, type ContaminatedFamily, type FrozenExpert } from './mixture/contaminated.js';
export { canonicalSoftmax } from './mixture/gates/canonical.js';
// Studies: the kind contract, the registry and the runner, for plugins and programmatic runs.
export { registerKind, listKinds, getKind, type ModelKind, type CellModel, type Simulated } from './study/registry.js';
export { runStudy, loadStudy, type RunOptions, type RunSummary } from './study/runner.js';
export { rescoreStudy, rescoreLine, type RescoreSummary } from './study/rescore.js';
export { parseStudy, planStudy, type StudyConfig, type ResolvedVariant } from './study/schema.js';
export { GENERIC_LOSSES, type GenericLossName } from './study/generic-losses.js';
export { designSchema, designSampler, isFixedDesign, type DesignConfig, type DesignSampler } from './study/design.js';
export { expertFamily, truthMeasure, type ExpertConfig, type TruthConfig } from './study/kinds/config-parts.js';
import './study/kinds/index.js';
// The tfjs ViT lives behind its own entry point (`prompt-experts/vit`) so that the numerical core
// loads without TensorFlow.js.
