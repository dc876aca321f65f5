/**
 * The planted-prompt experiment on a tiny configuration (wasm): the fitted-vs-planted loss is 0
 * for the planted prompts themselves, a run writes one fit line per (form, n, seed) and one slope
 * line per form, and a second run skips the fits and replaces (not duplicates) the slope lines.
 */
import './quiet-tfjs.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/vit/backend.js';
import { createMethod, initVit } from '../../src/vit/index.js';
import { promptAtoms, runPlanted } from '../../src/vit/planted.js';
import { InputError } from '../../src/util/errors.js';
import { promptAtomLoss } from '../../src/vit/planted-loss.js';

const vit = { imageSize: 14, channels: 1, patch: 7, width: 16, depth: 2, heads: 2, mlpRatio: 2 };

test('the prompt-atom loss is 0 at the planted prompts and positive away from them', async () => {
  await selectBackend('wasm', { log: () => {} });
  const backbone = initVit({ ...vit, classes: 2 }, 1, false);
  const probe = tf.randomUniform([3, 14, 14, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
  for (const spec of [
    { name: 'vpt-deep', config: { kind: 'vpt', prompts: 2, mode: 'deep' } },
    { name: 'vapt', config: { kind: 'vapt', prompts: 2, kernel: 2, padding: 0, rank: 2, residual: true, layerNorm: false, staticFirstLayer: false, projectorBias: true } },
  ] as const) {
    const a = createMethod(backbone, spec, { classes: 2, seed: 1 });
    const b = createMethod(backbone, spec, { classes: 2, seed: 2 });
    const atomsA = promptAtoms(backbone, a, probe);
    assert.equal(atomsA.length, 2, `${spec.name}: one atom set per layer`);
    atomsA.forEach((layer, l) => assert.equal(promptAtomLoss(layer, layer), 0, `${spec.name} layer ${l}`));
    const atomsB = promptAtoms(backbone, b, probe);
    assert.ok(promptAtomLoss(atomsB[0] ?? [], atomsA[0] ?? []) > 0);
  }
});

test('tiny planted run: fit lines, one slope line per form, resumable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'planted-'));
  const path = join(dir, 'study.json');
  writeFileSync(
    path,
    JSON.stringify({
      kind: 'vit-planted',
      name: 'planted-test',
      backbone: { vit, trainSize: 200, testSize: 50, steps: 5 },
      forms: [{ name: 'vpt-deep', config: { prompts: 1 } }],
      n: [8, 16],
      seeds: [1, 2],
      noise: 0.05,
      fit: { steps: 3, batchSize: 8 },
      testSize: 20,
    }),
  );
  const quiet = { backend: 'wasm' as const, quiet: true, log: () => {} };
  const r1 = await runPlanted(path, quiet);
  assert.equal(r1.ran, 4);
  const lines = (): Array<{ kind: string; loss?: number; slope?: number; backend?: string }> =>
    readFileSync(join(dir, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string });
  const first = lines();
  assert.equal(first.filter((l) => l.kind === 'fit').length, 4);
  assert.equal(first.filter((l) => l.kind === 'slope').length, 1);
  for (const l of first.filter((x) => x.kind === 'fit')) {
    assert.ok(Number.isFinite(l.loss) && (l.loss as number) > 0);
    assert.equal(l.backend, 'wasm');
  }
  assert.ok(Number.isFinite(first.find((l) => l.kind === 'slope')?.slope));
  const before = [readFileSync(join(dir, 'results.jsonl'), 'utf8'), readFileSync(join(dir, 'run.json'), 'utf8')];
  const r2 = await runPlanted(path, quiet);
  assert.equal(r2.ran, 0);
  assert.equal(r2.slopes.length, 1, 'the slopes on file are reported');
  assert.deepEqual([readFileSync(join(dir, 'results.jsonl'), 'utf8'), readFileSync(join(dir, 'run.json'), 'utf8')], before, 'a no-op run rewrites neither file');
  // A bad form config is found before a backend is chosen or anything is written.
  const bad = mkdtempSync(join(tmpdir(), 'planted-bad-'));
  const badPath = join(bad, 'study.json');
  writeFileSync(badPath, JSON.stringify({ kind: 'vit-planted', name: 'bad', backbone: { vit }, forms: [{ name: 'vapt', config: { kernel: 99 } }], n: [8, 16], seeds: [1] }));
  const logs: string[] = [];
  await assert.rejects(runPlanted(badPath, { quiet: true, log: (m) => logs.push(m) }), (e: unknown) => e instanceof InputError && e.field === `${badPath}: forms[0].config.kernel`);
  assert.deepEqual(logs, []);
  assert.deepEqual(readdirSync(bad), ['study.json']);
});
