/**
 * Shards of the ViT studies (`--shard i/N`, `vit merge`): the shards partition the cells in
 * study order; two planted-layer shards merged give the fits of one whole run (same cells, same
 * numbers, study order, slopes recomputed over all of them); a shard skips cells already merged;
 * a staged merge keeps results.jsonl's lines first; a shard refuses to start without a backbone.
 */
import './quiet-tfjs.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { vitShardCells } from '../../src/vit/shards.js';
import { mergePlantedLayer, runPlantedLayer, type LayerFitLine } from '../../src/vit/planted-layer-study.js';
import { mergeSweep, runSweep } from '../../src/vit/sweep.js';
import { InputError } from '../../src/util/errors.js';

test('vitShardCells: the N shards partition the cells, each in study order', () => {
  fc.assert(
    fc.property(fc.array(fc.integer(), { maxLength: 40 }), fc.integer({ min: 1, max: 7 }), (cells, count) => {
      const shards = Array.from({ length: count }, (_, i) => vitShardCells(cells.map((c, j) => ({ c, j })), { index: i + 1, count }));
      const all = shards.flat().map((x) => x.j).sort((a, b) => a - b);
      assert.deepEqual(all, cells.map((_, j) => j));
      for (const s of shards) for (let k = 1; k < s.length; k++) assert.ok((s[k]?.j ?? 0) > (s[k - 1]?.j ?? 0));
      assert.deepEqual(vitShardCells(cells), cells);
    }),
  );
});

const vit = { imageSize: 14, channels: 1, patch: 7, width: 16, depth: 2, heads: 2, mlpRatio: 2 };
const quiet = { backend: 'wasm' as const, quiet: true, log: () => {} };
const read = (p: string): Array<Record<string, unknown>> => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
// What a fit line says about the estimate, without the wall clock.
const strip = (l: Record<string, unknown>): Record<string, unknown> => {
  const { finished: _f, seconds: _s, ...rest } = l;
  return rest;
};

test('planted-layer shards merged equal one whole run; a shard skips merged cells', async () => {
  const whole = mkdtempSync(join(tmpdir(), 'shards-whole-'));
  const study = {
    kind: 'vit-planted-layer',
    name: 'shards-test',
    backbone: { vit, trainSize: 200, testSize: 50, steps: 5 },
    block: 1,
    forms: [{ name: 'vpt-deep', prompts: 1 }, { name: 'vapt', prompts: 1, kernel: 1, rank: 2 }],
    regimes: ['exact'],
    n: [8, 16],
    seeds: [1, 2],
    noise: 0.01,
    fit: { maxSteps: 30 },
  };
  writeFileSync(join(whole, 'study.json'), JSON.stringify(study));
  await runPlantedLayer(join(whole, 'study.json'), quiet);
  const wholeLines = read(join(whole, 'results.jsonl'));

  const sharded = mkdtempSync(join(tmpdir(), 'shards-split-'));
  const path = join(sharded, 'study.json');
  writeFileSync(path, JSON.stringify(study));
  await assert.rejects(runPlantedLayer(path, { ...quiet, shard: { index: 1, count: 2 } }), (e: unknown) => e instanceof InputError && e.field === '--shard');
  cpSync(join(whole, 'backbone'), join(sharded, 'backbone'), { recursive: true });
  const r1 = await runPlantedLayer(path, { ...quiet, shard: { index: 1, count: 3 } });
  const r2 = await runPlantedLayer(path, { ...quiet, shard: { index: 2, count: 3 } });
  const r3 = await runPlantedLayer(path, { ...quiet, shard: { index: 3, count: 3 } });
  assert.deepEqual([r1.ran, r2.ran, r3.ran], [3, 3, 2]);
  assert.ok(existsSync(join(sharded, 'results.shard-2-of-3.jsonl')) && existsSync(join(sharded, 'run.shard-3-of-3.json')));
  const m = mergePlantedLayer(path);
  assert.deepEqual([m.lines, m.missing, m.total, m.duplicates], [8, 0, 8, 0]);
  const merged = read(join(sharded, 'results.jsonl'));
  // Same fits in the same (study) order, same numbers; slope lines recomputed from all of them.
  assert.deepEqual(merged.filter((l) => l.kind === 'fit').map(strip), wholeLines.filter((l) => l.kind === 'fit').map(strip));
  assert.deepEqual(
    merged.filter((l) => l.kind === 'slope').map(strip),
    wholeLines.filter((l) => l.kind === 'slope').map(strip),
  );
  const run = JSON.parse(readFileSync(join(sharded, 'run.json'), 'utf8')) as { sessions: Array<{ shard?: string }> };
  assert.deepEqual(run.sessions.map((s) => s.shard).sort(), ['1/3', '2/3', '3/3']);
  // Merging again changes nothing; a new shard run skips the cells results.jsonl holds.
  const bytes = readFileSync(join(sharded, 'results.jsonl'), 'utf8');
  assert.equal(mergePlantedLayer(path).duplicates, 8);
  assert.equal(readFileSync(join(sharded, 'results.jsonl'), 'utf8'), bytes);
  const again = await runPlantedLayer(path, { ...quiet, shard: { index: 1, count: 2 } });
  assert.equal(again.ran, 0);

  // A stage (one more seed) merges after the lines already there, which keep their order.
  const stage = join(sharded, 'stage.json');
  writeFileSync(stage, JSON.stringify({ ...study, forms: [study.forms[1]], seeds: [3] }));
  await runPlantedLayer(stage, { ...quiet, shard: { index: 1, count: 1 } });
  mergePlantedLayer(stage);
  const staged = read(join(sharded, 'results.jsonl')).filter((l) => l.kind === 'fit') as unknown as LayerFitLine[];
  assert.deepEqual(staged.slice(0, 8).map((l) => strip(l as unknown as Record<string, unknown>)), merged.filter((l) => l.kind === 'fit').map(strip));
  assert.deepEqual(staged.slice(8).map((l) => [l.form, l.n, l.seed]), [['vapt', 8, 3], ['vapt', 16, 3]]);
});

test('sweep shards: refused without a backbone, merged into results.jsonl in study order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shards-sweep-'));
  const path = join(dir, 'study.json');
  writeFileSync(
    path,
    JSON.stringify({
      kind: 'vit-sweep',
      name: 'shards-sweep',
      backbone: { vit: { ...vit, depth: 1 }, trainSize: 300, testSize: 50, steps: 5, batchSize: 32 },
      tasks: ['count'],
      methods: [{ name: 'vpt-deep', config: { prompts: 1 } }, { name: 'linear-probe' }],
      n: [16, 32],
      seeds: [1],
      testSize: 30,
      train: { steps: 2, batchSize: 8 },
    }),
  );
  await assert.rejects(runSweep(path, { ...quiet, shard: { index: 1, count: 2 } }), (e: unknown) => e instanceof InputError && e.field === '--shard');
  const whole = await runSweep(path, quiet);
  assert.equal(whole.ran, 4);
  const wholeLines = read(join(dir, 'results.jsonl'));
  // Shards of a study that is already complete run nothing; after moving results.jsonl away they
  // run their halves, and the merge restores the same cells in the same order.
  assert.equal((await runSweep(path, { ...quiet, shard: { index: 2, count: 2 } })).ran, 0);
  writeFileSync(join(dir, 'results.jsonl'), '');
  const a = await runSweep(path, { ...quiet, shard: { index: 1, count: 2 } });
  const b = await runSweep(path, { ...quiet, shard: { index: 2, count: 2 } });
  assert.deepEqual([a.ran, b.ran], [2, 2]);
  const m = mergeSweep(path);
  assert.deepEqual([m.lines, m.missing], [4, 0]);
  const key = (l: Record<string, unknown>): string => `${String(l.method)}|${String(l.n)}`;
  assert.deepEqual(read(join(dir, 'results.jsonl')).map(key), wholeLines.map(key));
  assert.ok(read(join(dir, 'results.jsonl')).every((l) => l.backend === 'wasm' && Number(l.imagesPerSecond) > 0));
});
