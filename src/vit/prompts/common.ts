/**
 * Shared machinery of the tuning methods: options, variable helpers and the generic
 * `TuningMethod` assembly (head + hooks + variables -> forward, counts, dispose).
 */
import * as tf from '@tensorflow/tfjs';
import {
  countParameters,
  initHead,
  namedHeadVariables,
  vitForward,
  vitVariables,
  type HeadWeights,
  type MethodName,
  type PromptHooks,
  type TuningMethod,
  type VitWeights,
} from '../model.js';

/** Options every method factory takes. */
export interface MethodOptions {
  /** Classes of the downstream task (size of the new head). */
  readonly classes: number;
  /** Seed of the method's own initialisation (prompts, head). */
  readonly seed: number;
}

/** A seeded stream of sub-seeds. */
export function seeds(seed: number): () => number {
  let s = (seed >>> 0) * 7919 + 101;
  return () => (s = (s + 1) % 2147483647);
}

/** A variable from a tensor (the tensor is consumed). */
export function toVariable(t: tf.Tensor, trainable = true): tf.Variable {
  const v = tf.variable(t, trainable);
  t.dispose();
  return v;
}

/** uniform(-a, a), seeded. */
export function uniformVar(shape: number[], a: number, seed: number): tf.Variable {
  return toVariable(tf.randomUniform(shape, -a, a, 'float32', seed));
}

/**
 * The VPT initialisation of prompt tokens (official code): uniform(-v, v) with
 * v = sqrt(6 / (3 * p * p + D)) (3 = RGB channels there; here the backbone's channel count).
 */
export function vptInitBound(backbone: VitWeights): number {
  const { patch, channels, width } = backbone.config;
  return Math.sqrt(6 / (channels * patch * patch + width));
}

/** [L, D] -> [B, L, D] without copying the variable. */
export function broadcastRows(p: tf.Tensor2D, batch: number): tf.Tensor3D {
  const [L, D] = p.shape;
  return tf.broadcastTo(tf.reshape(p, [1, L, D]), [batch, L, D]);
}

/** Assemble a TuningMethod from its parts. `own` are the method's variables besides the head. */
export function assembleMethod(parts: {
  name: MethodName;
  backbone: VitWeights;
  hooks: PromptHooks;
  own: Record<string, tf.Variable>;
  promptParameters: number;
  options: MethodOptions;
  /** Dispose the backbone too (full fine-tuning's private copy). */
  ownsBackbone?: boolean;
  /** Extra trainable variables counted in tunableParameters but not in promptParameters (full fine-tuning). */
  extraTrainable?: Record<string, tf.Variable>;
  /** Non-trainable variables the method owns (E2VPT masks): disposed with it, saved in checkpoints. */
  state?: Record<string, tf.Variable>;
}): TuningMethod {
  const next = seeds(parts.options.seed + 1_000_003);
  const head: HeadWeights = initHead(parts.backbone.config.width, parts.options.classes, next());
  const headVars = namedHeadVariables(head);
  const extra = parts.extraTrainable ?? {};
  const state = parts.state ?? {};
  const trainable = [...Object.values(parts.own), ...Object.values(extra), ...Object.values(headVars)];
  const tunable = countParameters(trainable);
  let disposed = false;
  return {
    name: parts.name,
    backbone: parts.backbone,
    head,
    hooks: parts.hooks,
    trainableVariables: () => trainable.slice(),
    namedVariables: () => ({ ...parts.own, ...extra, ...state, ...headVars }),
    promptParameters: parts.promptParameters,
    tunableParameters: tunable,
    forward: (images: tf.Tensor4D) => vitForward(parts.backbone, images, { prompts: parts.hooks, head }),
    dispose: () => {
      if (disposed) return;
      disposed = true;
      const all = new Set<tf.Variable>([...trainable, ...Object.values(state)]);
      if (parts.ownsBackbone) for (const v of vitVariables(parts.backbone)) all.add(v);
      for (const v of all) if (!v.isDisposed) v.dispose();
    },
  };
}
