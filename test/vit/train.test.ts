/**
 * Training machinery on a tiny ViT (14 x 14 input, patch 7, width 16, one block) on wasm:
 * schedule, checkpoints in tfjs format, resuming a cut run gives the uninterrupted result, the
 * backbone stays frozen while a prompt method trains.
 */
import './quiet-tfjs.js';
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/vit/backend.js';
import { createMethod, initVit, namedVitVariables, type VitConfig } from '../../src/vit/index.js';
import { trainSet } from '../../src/vit/data/tasks.js';
import { warmupCosine } from '../../src/vit/train/sgd.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/vit/train/checkpoint.js';
import { evaluate, train, type TrainOptions } from '../../src/vit/train/train.js';

const CFG: VitConfig = { imageSize: 14, channels: 1, patch: 7, width: 16, depth: 1, heads: 2, mlpRatio: 2, classes: 5 };

before(async () => {
  await selectBackend('wasm', { log: () => {} });
});

test('warmup rises linearly to the base rate, then the cosine falls to 0', () => {
  assert.equal(warmupCosine(0, 100, 0.1, 10), 0.01);
  assert.ok(Math.abs(warmupCosine(9, 100, 0.1, 10) - 0.1) < 1e-12);
  assert.ok(Math.abs(warmupCosine(10, 100, 0.1, 10) - 0.1) < 1e-12);
  assert.ok(Math.abs(warmupCosine(55, 100, 0.1, 10) - 0.05) < 1e-12);
  assert.ok(warmupCosine(100, 100, 0.1, 10) < 1e-12);
});

test('checkpoints round-trip in the tfjs weights format', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ck-'));
  const a = tf.tensor2d([[1, 2], [3, 4.5]]);
  await saveCheckpoint(dir, { a }, { step: 3 });
  const back = loadCheckpoint<{ step: number }>(dir);
  assert.equal(back.meta.step, 3);
  assert.deepEqual(back.tensors['a']?.arraySync(), [[1, 2], [3, 4.5]]);
});

test('a run cut after a checkpoint and resumed ends where the uninterrupted run ends', async () => {
  const data = trainSet('digits-5-9', 40, 1, 14);
  const backbone = initVit(CFG, 1, false);
  const opts: TrainOptions = { steps: 6, batchSize: 8, lr: 0.1, warmupSteps: 2, momentum: 0.9, weightDecay: 1e-4, seed: 3, label: null };
  const spec = { name: 'vpt-deep', config: { kind: 'vpt', prompts: 2, mode: 'deep' } } as const;
  const straight = createMethod(backbone, spec, { classes: 5, seed: 1 });
  await train(straight, data, opts);
  const dir = mkdtempSync(join(tmpdir(), 'resume-'));
  const first = createMethod(backbone, spec, { classes: 5, seed: 1 });
  await train(first, data, { ...opts, steps: 3, checkpoint: { dir, every: 3 } });
  // The checkpoint of a 3-step run says step 3; continue to 6 from it in a fresh method.
  const resumed = createMethod(backbone, spec, { classes: 5, seed: 99 });
  const r = await train(resumed, data, { ...opts, checkpoint: { dir, every: 100 } });
  assert.equal(r.resumedFrom, 3);
  const want = straight.namedVariables();
  for (const [k, v] of Object.entries(resumed.namedVariables())) {
    const diff = tf.max(tf.abs(tf.sub(v, want[k] as tf.Variable))).dataSync()[0] ?? 1;
    assert.ok(diff < 1e-5, `${k} differs by ${diff}`);
  }
});

test('training a prompt method changes its prompts and head, never the backbone, and lowers the loss', async () => {
  const data = trainSet('digits-5-9', 64, 2, 14);
  const backbone = initVit(CFG, 2, false);
  const before = Object.fromEntries(Object.entries(namedVitVariables(backbone)).map(([k, v]) => [k, v.arraySync()]));
  const m = createMethod(backbone, { name: 'vpt-deep', config: { kind: 'vpt', prompts: 2, mode: 'deep' } }, { classes: 5, seed: 2 });
  const p0 = (m.namedVariables()['vpt.prompts.0'] as tf.Variable).arraySync();
  const e0 = await evaluate(m, data);
  await train(m, data, { steps: 30, batchSize: 16, lr: 0.1, warmupSteps: 3, momentum: 0.9, weightDecay: 0, seed: 2, label: null });
  const e1 = await evaluate(m, data);
  assert.ok(e1.loss < e0.loss, `training loss ${e0.loss} -> ${e1.loss}`);
  assert.notDeepEqual((m.namedVariables()['vpt.prompts.0'] as tf.Variable).arraySync(), p0);
  for (const [k, v] of Object.entries(namedVitVariables(backbone))) assert.deepEqual(v.arraySync(), before[k], `backbone ${k} changed`);
});
