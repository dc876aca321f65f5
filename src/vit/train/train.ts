/**
 * Training and evaluation of anything with a forward pass and named variables: a tuning method
 * of src/vit/prompts (only its own variables train; the backbone stays frozen) or a whole
 * backbone during pretraining.
 *
 * Loop: mini-batches drawn without replacement, reshuffled every epoch from (seed, epoch), so a
 * resumed run sees exactly the batches the uninterrupted run would have; mean softmax
 * cross-entropy; momentum SGD with linear warmup + cosine decay (sgd.ts). With `checkpoint`, the
 * named variables, the velocities and the step are saved every `every` steps and at the end; a
 * run started again with the same folder continues from the last save.
 */
import * as tf from '@tensorflow/tfjs';
import { deriveSeed, makeRng } from '../../util/rng.js';
import { progressBar } from '../../util/progress.js';
import { crossEntropy } from '../model.js';
import type { ImageSet } from '../data/tasks.js';
import { assignVariables, hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { AdamW, MomentumSgd, warmupCosine, type Optimizer } from './sgd.js';

/** What the trainer needs: a TuningMethod satisfies it. */
export interface Trainable {
  /** Logits [B, classes] for images [B, S, S, 1]. */
  forward(images: tf.Tensor4D): tf.Tensor2D;
  /** The variables the optimiser updates. */
  trainableVariables(): tf.Variable[];
  /** Every variable a checkpoint stores, by stable name (a superset of the trainable ones). */
  namedVariables(): Record<string, tf.Variable>;
}

export interface TrainOptions {
  readonly steps: number;
  readonly batchSize: number;
  /** Base learning rate (peak after warmup). */
  readonly lr: number;
  readonly warmupSteps: number;
  readonly momentum: number;
  readonly weightDecay: number;
  /** Seed of the batch order. */
  readonly seed: number;
  /** 'sgd' (momentum SGD, the VPT-family default) or 'adamw' (momentum unused). */
  readonly optimizer?: 'sgd' | 'adamw';
  /** Save every `every` steps to `dir` and resume from it. */
  readonly checkpoint?: { readonly dir: string; readonly every: number; readonly meta?: Record<string, unknown> };
  /** Progress-bar label, or null for silence. */
  readonly label?: string | null;
}

export const DEFAULT_TRAIN: Omit<TrainOptions, 'steps' | 'seed'> = {
  batchSize: 32,
  lr: 0.05,
  warmupSteps: 10,
  momentum: 0.9,
  weightDecay: 0,
};

export interface TrainResult {
  /** Mean training loss over the last min(20, steps) steps. */
  readonly finalLoss: number;
  readonly steps: number;
  /** Step the run started from (> 0 when resumed from a checkpoint). */
  readonly resumedFrom: number;
  readonly seconds: number;
}

interface CheckpointMeta {
  step: number;
  steps: number;
  recentLosses: number[];
  [key: string]: unknown;
}

/** Images of a set as a [count, S, S, 1] tensor. */
export function imagesTensor(set: ImageSet, rows?: ReadonlyArray<number>): tf.Tensor4D {
  const px = set.size * set.size;
  if (rows === undefined) return tf.tensor4d(set.x, [set.count, set.size, set.size, 1]);
  const x = new Float32Array(rows.length * px);
  rows.forEach((r, i) => x.set(set.x.subarray(r * px, (r + 1) * px), i * px));
  return tf.tensor4d(x, [rows.length, set.size, set.size, 1]);
}

export function labelsTensor(set: ImageSet, rows?: ReadonlyArray<number>): tf.Tensor1D {
  if (rows === undefined) return tf.tensor1d(set.y, 'int32');
  return tf.tensor1d(Int32Array.from(rows, (r) => set.y[r] ?? 0), 'int32');
}

/** Row indices of batch `step` (epochs reshuffled from (seed, epoch); deterministic per step). */
export function batchRows(count: number, batchSize: number, seed: number, step: number): number[] {
  const b = Math.min(batchSize, count);
  const perEpoch = Math.floor(count / b);
  const epoch = Math.floor(step / perEpoch);
  const k = step % perEpoch;
  const order = Array.from({ length: count }, (_, i) => i);
  const rng = makeRng(deriveSeed(seed, 'epoch', epoch));
  for (let i = count - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  return order.slice(k * b, (k + 1) * b);
}

export async function train(model: Trainable, data: ImageSet, options: TrainOptions): Promise<TrainResult> {
  const t0 = Date.now();
  const named = model.namedVariables();
  const trainable = new Set(model.trainableVariables());
  const pairs = Object.entries(named).filter(([, v]) => trainable.has(v));
  if (pairs.length !== trainable.size) throw new Error('train: every trainable variable must appear in namedVariables()');
  const varList = pairs.map(([, v]) => v);
  const sgd: Optimizer =
    options.optimizer === 'adamw'
      ? new AdamW({ weightDecay: options.weightDecay })
      : new MomentumSgd({ momentum: options.momentum, weightDecay: options.weightDecay });
  let start = 0;
  let recent: number[] = [];
  const ck = options.checkpoint;
  if (ck !== undefined && hasCheckpoint(ck.dir)) {
    const saved = loadCheckpoint<CheckpointMeta>(ck.dir);
    const names = Object.keys(named);
    assignVariables(Object.values(named), saved.tensors, names);
    sgd.restore(saved.tensors);
    for (const t of Object.values(saved.tensors)) t.dispose();
    start = Math.min(saved.meta.step, options.steps);
    recent = saved.meta.recentLosses ?? [];
  }
  const save = async (step: number): Promise<void> => {
    if (ck === undefined) return;
    const meta: CheckpointMeta = { ...(ck.meta ?? {}), step, steps: options.steps, recentLosses: recent };
    await saveCheckpoint(ck.dir, { ...named, ...sgd.state() }, meta);
  };
  const bar = options.label === null ? null : progressBar(options.steps - start, options.label ?? 'train', { every: Math.max(1, Math.ceil((options.steps - start) / 5)) });
  for (let step = start; step < options.steps; step++) {
    const rows = batchRows(data.count, options.batchSize, options.seed, step);
    const lr = warmupCosine(step, options.steps, options.lr, options.warmupSteps);
    const x = imagesTensor(data, rows);
    const y = labelsTensor(data, rows);
    const { value, grads } = tf.variableGrads(() => crossEntropy(model.forward(x), y), varList);
    sgd.apply(pairs, grads, lr);
    const loss = (await value.data())[0] ?? Number.NaN;
    tf.dispose([x, y, value, ...Object.values(grads)]);
    recent.push(loss);
    if (recent.length > 20) recent.shift();
    if (!Number.isFinite(loss)) throw new Error(`train: loss became ${loss} at step ${step} (learning rate ${lr})`);
    bar?.tick(1, `loss ${loss.toFixed(3)}`);
    if (ck !== undefined && (step + 1) % ck.every === 0 && step + 1 < options.steps) await save(step + 1);
  }
  bar?.stop();
  await save(options.steps);
  sgd.dispose();
  const finalLoss = recent.length > 0 ? recent.reduce((a, b) => a + b, 0) / recent.length : Number.NaN;
  return { finalLoss, steps: options.steps, resumedFrom: start, seconds: (Date.now() - t0) / 1000 };
}

export interface Evaluation {
  readonly accuracy: number;
  /** Mean cross-entropy. */
  readonly loss: number;
  readonly count: number;
}

/** Accuracy and mean cross-entropy on a set, in batches (no gradients). */
export async function evaluate(model: Pick<Trainable, 'forward'>, data: ImageSet, batchSize = 250): Promise<Evaluation> {
  let correct = 0;
  let lossSum = 0;
  for (let start = 0; start < data.count; start += batchSize) {
    const rows = Array.from({ length: Math.min(batchSize, data.count - start) }, (_, i) => start + i);
    const [c, l] = tf.tidy(() => {
      const x = imagesTensor(data, rows);
      const y = labelsTensor(data, rows);
      const logits = model.forward(x);
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32'));
      return [hits, tf.mul(crossEntropy(logits, y), rows.length)];
    });
    correct += (await c.data())[0] ?? 0;
    lossSum += (await l.data())[0] ?? 0;
    tf.dispose([c, l]);
  }
  return { accuracy: correct / data.count, loss: lossSum / data.count, count: data.count };
}
