/**
 * Backbone pretraining: a fresh ViT trained end to end on the pretraining task (MNIST digits
 * 0-4), saved as a checkpoint folder (tfjs weights format, checkpoint.ts) whose meta holds the
 * ViT config, the task, the steps and the test accuracy reached. `loadBackbone` gives back frozen
 * weights. Pretraining checkpoints as it goes, so a killed `vit pretrain` resumes.
 */
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { initVit, namedVitVariables, vitForward, vitWeightsFromNamed, disposeVit, type VitConfig, type VitWeights } from '../model.js';
import { testSet, trainSet, taskInfo } from '../data/tasks.js';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { evaluate, train, type Trainable } from './train.js';

export interface PretrainOptions {
  readonly vit: Omit<VitConfig, 'classes'>;
  readonly task: string;
  /** Training images drawn from the task (nested stream, seed `seed`). */
  readonly trainSize: number;
  readonly testSize: number;
  readonly steps: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly warmupSteps: number;
  readonly weightDecay: number;
  readonly seed: number;
  readonly label?: string | null;
}

export interface BackboneMeta {
  readonly kind: 'prompt-experts-vit-backbone';
  readonly config: VitConfig;
  readonly task: string;
  readonly steps: number;
  readonly seed: number;
  readonly testAccuracy: number;
  readonly testLoss: number;
  readonly seconds: number;
  readonly backend: string;
}

/** The tiny backbone of experiments/vit-tiny: 28 x 28 MNIST, patch 7 (4 x 4 grid), width 48, 3 blocks of 3 heads. */
export const TINY_ARCH: Omit<VitConfig, 'classes'> = { imageSize: 28, channels: 1, patch: 7, width: 48, depth: 3, heads: 3, mlpRatio: 2 };

export const DEFAULT_PRETRAIN: Omit<PretrainOptions, 'vit'> = {
  task: 'digits-0-4',
  trainSize: 20000,
  testSize: 1000,
  steps: 400,
  batchSize: 64,
  lr: 2e-3,
  warmupSteps: 40,
  weightDecay: 0.05,
  seed: 1,
};

/** Pretrain a backbone and save it to `outDir` (resuming from `outDir/partial` if a run was cut). */
export async function pretrainBackbone(outDir: string, o: PretrainOptions): Promise<BackboneMeta> {
  const info = taskInfo(o.task);
  const config: VitConfig = { ...o.vit, classes: info.numClasses };
  const w = initVit(config, o.seed, true);
  const model: Trainable = {
    forward: (x) => vitForward(w, x),
    trainableVariables: () => Object.values(namedVitVariables(w)),
    namedVariables: () => namedVitVariables(w),
  };
  const data = trainSet(o.task, o.trainSize, o.seed, config.imageSize);
  const partial = join(outDir, 'partial');
  const res = await train(model, data, {
    steps: o.steps,
    batchSize: o.batchSize,
    lr: o.lr,
    warmupSteps: o.warmupSteps,
    momentum: 0.9,
    optimizer: 'adamw',
    weightDecay: o.weightDecay,
    seed: o.seed,
    checkpoint: { dir: partial, every: 50 },
    label: o.label === undefined ? `pretrain ${o.task}` : o.label,
  });
  const ev = await evaluate(model, testSet(o.task, o.testSize, config.imageSize));
  const meta: BackboneMeta = {
    kind: 'prompt-experts-vit-backbone',
    config,
    task: o.task,
    steps: o.steps,
    seed: o.seed,
    testAccuracy: ev.accuracy,
    testLoss: ev.loss,
    seconds: res.seconds,
    backend: tf.getBackend(),
  };
  await saveCheckpoint(outDir, namedVitVariables(w), meta);
  rmSync(partial, { recursive: true, force: true });
  disposeVit(w);
  return meta;
}

export function hasBackbone(dir: string): boolean {
  return hasCheckpoint(dir);
}

/** Load a saved backbone as frozen (non-trainable) weights. */
export function loadBackbone(dir: string): { weights: VitWeights; meta: BackboneMeta } {
  const ck = loadCheckpoint<BackboneMeta>(dir);
  if (ck.meta.kind !== 'prompt-experts-vit-backbone') throw new Error(`${dir}: not a backbone checkpoint`);
  const weights = vitWeightsFromNamed(ck.meta.config, ck.tensors, false);
  for (const t of Object.values(ck.tensors)) t.dispose();
  return { weights, meta: ck.meta };
}
