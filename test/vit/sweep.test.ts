/**
 * The sweep end to end on a tiny configuration (wasm): pretrain a 14 x 14 backbone into the study
 * folder, run methods x n, append results lines, skip done cells on a second run; bad study files
 * fail with the field named. The whole file runs in well under a minute.
 */
import './quiet-tfjs.js';
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend, type BackendInfo } from '../../src/vit/backend.js';
import { runSweep, type SweepLine } from '../../src/vit/sweep.js';
import { loadSweepStudy } from '../../src/vit/study.js';
import { InputError } from '../../src/util/errors.js';

let info: BackendInfo;
before(async () => {
  info = await selectBackend('wasm', { log: () => {} });
});

const tinyStudy = {
  kind: 'vit-sweep',
  name: 'tiny-test',
  backbone: { vit: { imageSize: 14, channels: 1, patch: 7, width: 16, depth: 1, heads: 2, mlpRatio: 2 }, trainSize: 500, testSize: 100, steps: 20, batchSize: 32 },
  tasks: ['count'],
  methods: [
    { name: 'vpt-deep', config: { prompts: 2 } },
    { name: 'e2vpt', config: { visualPrompts: 2, kvPrompts: 1 }, prune: { visualTokens: 0.5, kvSegments: 0.25, batches: 1 } },
    { name: 'vapt', config: { prompts: 2, kernel: 2, rank: 2 } },
    { name: 'linear-probe' },
  ],
  n: [16, 32],
  seeds: [1],
  testSize: 50,
  train: { steps: 4, batchSize: 8 },
};

test('tiny sweep: pretrains the backbone, writes one line per cell, and a second run skips them all', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sweep-'));
  const path = join(dir, 'study.json');
  writeFileSync(path, JSON.stringify(tinyStudy));
  const s1 = await runSweep(path, { backendInfo: info, quiet: true, log: () => {} });
  assert.equal(s1.ran, 8);
  assert.ok(existsSync(join(dir, 'backbone', 'model.json')));
  const lines = readFileSync(join(dir, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SweepLine);
  assert.equal(lines.length, 8);
  for (const l of lines) {
    for (const k of ['method', 'task', 'n', 'seed', 'accuracy', 'loss', 'tunableParams', 'backend', 'device', 'seconds'] as const) assert.ok(l[k] !== undefined, `missing ${k}`);
    assert.equal(l.backend, 'wasm');
    assert.ok(l.accuracy >= 0 && l.accuracy <= 1);
    assert.ok(l.imagesPerSecond !== undefined && Number.isFinite(l.imagesPerSecond) && l.imagesPerSecond > 0, 'training throughput recorded');
  }
  const e2 = lines.find((l) => l.method === 'e2vpt');
  assert.ok(e2 !== undefined && e2.activePromptParams < e2.promptParams, 'pruning removed prompt parameters');
  const runBefore = readFileSync(join(dir, 'run.json'), 'utf8');
  const s2 = await runSweep(path, { backendInfo: info, quiet: true, log: () => {} });
  assert.equal(s2.ran, 0);
  assert.equal(readFileSync(join(dir, 'run.json'), 'utf8'), runBefore, 'a no-op sweep leaves run.json as it was');
  assert.equal(s2.skipped, 8);
  assert.equal(readFileSync(join(dir, 'results.jsonl'), 'utf8').trim().split('\n').length, 8);
  const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { sessions: Array<{ backend: string }> };
  assert.equal(run.sessions.length, 1);
});

test('a bad study.json names the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bad-'));
  const path = join(dir, 'study.json');
  writeFileSync(path, JSON.stringify({ ...tinyStudy, methods: [{ name: 'vpt-wide' }] }));
  assert.throws(() => loadSweepStudy(path), (e: unknown) => e instanceof InputError && e.message.includes('methods[0].name'));
  writeFileSync(path, JSON.stringify({ ...tinyStudy, tasks: ['cifar'] }));
  assert.throws(() => loadSweepStudy(path), (e: unknown) => e instanceof InputError && e.message.includes('tasks[0]'));
  writeFileSync(path, '{"kind": "vit-sweep",');
  assert.throws(() => loadSweepStudy(path), (e: unknown) => e instanceof InputError);
});

test('a sweep is checked whole before a backend is chosen or a file written', async () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a vapt kernel larger than the patch grid', { methods: [{ name: 'vapt', config: { kernel: 9 } }] }, /methods\[0\]\.config\.kernel: expected a kernel no larger than/],
    ['a config field the method lacks', { methods: [{ name: 'vpt-deep', config: { rank: 2 } }] }, /methods\[0\]\.config\.rank: expected a field of the vpt config/],
    ['n beyond the MNIST training split', { n: [16, 1e9] }, /n\[1\]: expected an integer in \[1, 60000\]/],
    ['testSize beyond the MNIST test split', { testSize: 1e7 }, /testSize: expected an integer in \[1, 10000\]/],
  ];
  for (const [what, patch, message] of cases) {
    const dir = mkdtempSync(join(tmpdir(), 'early-'));
    const path = join(dir, 'study.json');
    writeFileSync(path, JSON.stringify({ ...tinyStudy, ...patch }));
    // No backendInfo: a sweep that got as far as choosing a backend would log it.
    const logs: string[] = [];
    await assert.rejects(runSweep(path, { quiet: true, log: (m) => logs.push(m) }), (e: unknown) => e instanceof InputError && message.test(e.message), what);
    assert.deepEqual(logs, [], `${what}: nothing logged`);
    assert.deepEqual(readdirSync(dir), ['study.json'], `${what}: nothing written`);
  }
});

test('a corrupt results.jsonl is an input error naming file:line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'corrupt-'));
  const path = join(dir, 'study.json');
  writeFileSync(path, JSON.stringify(tinyStudy));
  writeFileSync(join(dir, 'results.jsonl'), '{"method":"vpt-deep"}\nnot json\n{"method":"x"}\n');
  await assert.rejects(runSweep(path, { quiet: true, log: () => {} }), (e: unknown) => e instanceof InputError && e.field === `${join(dir, 'results.jsonl')}:2`);
  assert.deepEqual(readdirSync(dir).sort(), ['results.jsonl', 'study.json']);
});
