/**
 * Prompt tuning does something a random prompt does not: on the committed tiny backbone
 * (experiments/vit-tiny/backbone, pretrained on digits 0-4), VAPT trained on 200 images of the
 * unseen digits 5-9 beats the same VAPT with its prompts left at their initialisation and only
 * the head trained (the untrained-prompt baseline), by a decisive margin on 500 test images.
 * Seeded and deterministic on wasm; measured margin about 10 points, asserted >= 5 (the binomial
 * standard error of each accuracy is about 2 points). About 20 s on one core.
 */
import './quiet-tfjs.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../../src/vit/backend.js';
import { loadBackbone } from '../../src/vit/train/pretrain.js';
import { runCell } from '../../src/vit/sweep.js';
import { testSet, trainSet } from '../../src/vit/data/tasks.js';
import { methodSchema } from '../../src/vit/study.js';

test('trained VAPT prompts beat the untrained-prompt baseline on digits 5-9 (n = 200)', async (t) => {
  await selectBackend('wasm', { log: () => {} });
  const dir = fileURLToPath(new URL('../../../experiments/vit-tiny/backbone', import.meta.url));
  const { weights } = loadBackbone(dir);
  const data = trainSet('digits-5-9', 200, 1, 28);
  const tests = testSet('digits-5-9', 500, 28);
  const train = { steps: 100, batchSize: 32, lr: 0.1, warmupSteps: 10, momentum: 0.9, weightDecay: 0 };
  const config = { prompts: 4, kernel: 2, rank: 8 };
  const trained = await runCell(weights, methodSchema.parse({ name: 'vapt', config }), { train }, data, tests, 1);
  const frozen = await runCell(weights, methodSchema.parse({ name: 'vapt', label: 'vapt-untrained', config, frozenPrompts: true }), { train }, data, tests, 1);
  t.diagnostic(`test accuracy: trained VAPT ${trained.accuracy}, untrained prompts ${frozen.accuracy}`);
  assert.ok(trained.accuracy - frozen.accuracy >= 0.05, `trained ${trained.accuracy} vs untrained prompts ${frozen.accuracy}`);
});
