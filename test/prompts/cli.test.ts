import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { main } from '../../src/cli/main.js';
import { moeViewInputArb } from '../../src/arbitraries/index.js';

const dir = mkdtempSync(join(tmpdir(), 'pe-cli-'));

/** Run the CLI in-process, capturing stdout and stderr. */
export async function runCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

let k = 0;
function file(text: string): string {
  const p = join(dir, `in-${k++}.json`);
  writeFileSync(p, text);
  return p;
}

const good = {
  X: [[1, 0], [0, 1], [1, 1]],
  WQ: [[1, 0], [0, 1]],
  WK: [[1, 0], [0, 1]],
  WV: [[1], [2]],
  prompt: { kind: 'vpt', P: [[0.5, -0.5]], mode: 'shallow' },
};

test('moe-view --json follows the contract', async () => {
  const r = await runCli(['moe-view', '--json', file(JSON.stringify(good))]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(out).sort(), ['attention', 'expertKinds', 'expertOutputs', 'gates', 'maxAbsError', 'output', 'scoreKinds', 'scores']);
  assert.equal((out.gates as number[][]).length, 4);
  assert.equal((out.gates as number[][])[0]?.length, 4);
  assert.deepEqual(out.expertKinds, ['linear', 'linear', 'linear', 'constant']);
  assert.deepEqual(out.scoreKinds, ['quadratic', 'quadratic', 'quadratic', 'linear']);
  assert.ok((out.maxAbsError as number) < 1e-14);
});

test('moe-view prints a summary table without --json', async () => {
  const r = await runCli(['moe-view', file(JSON.stringify(good))]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /prompt 0\s+constant\s+linear/);
});

test('moe-view accepts every contract kind (random documents)', async () => {
  const docs = fc.sample(moeViewInputArb('any'), { numRuns: 20, seed: 4 });
  for (const doc of docs) {
    const r = await runCli(['moe-view', '--json', file(JSON.stringify(doc))]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { gates: number[][]; expertKinds: string[] };
    assert.equal(out.expertKinds.length, out.gates[0]?.length);
  }
});

const bad: Array<[string, string, RegExp]> = [
  ['malformed JSON', '{"X": [[1, 2]', /^prompt-experts moe-view: .*in-\d+\.json: expected valid JSON/],
  ['missing field', JSON.stringify({ ...good, WV: undefined }), /^prompt-experts moe-view: WV: expected an array, got nothing/],
  ['missing prompt', JSON.stringify({ ...good, prompt: undefined }), /^prompt-experts moe-view: prompt: expected null or an object/],
  ['non-finite number', JSON.stringify(good).replace('[[1,0],[0,1],[1,1]]', '[[1,0],[0,1e999],[1,1]]'), /^prompt-experts moe-view: X\[1\]\[1\]: expected a finite number/],
  ['null number', JSON.stringify(good).replace('[[1,0],[0,1],[1,1]]', '[[1,0],[0,null],[1,1]]'), /^prompt-experts moe-view: X\[1\]\[1\]: expected a finite number, got null/],
  ['unknown prompt kind', JSON.stringify({ ...good, prompt: { kind: 'lora' } }), /^prompt-experts moe-view: prompt\.kind: expected one of "vpt", "kv", "vapt", got "lora"/],
  ['ragged X', JSON.stringify({ ...good, X: [[1, 0], [0, 1, 2], [1, 1]] }), /^prompt-experts moe-view: X\[1\]: expected an array of length 2/],
  ['inconsistent WK', JSON.stringify({ ...good, WK: [[1, 0, 0], [0, 1, 0]] }), /^prompt-experts moe-view: WK\[0\]: expected an array of length 2 \(dk\), got an array of length 3/],
  ['P of wrong width', JSON.stringify({ ...good, prompt: { kind: 'vpt', P: [[1, 2, 3]], mode: 'deep' } }), /^prompt-experts moe-view: prompt\.P\[0\]: expected an array of length 2 \(d\), got an array of length 3/],
  ['bad mode', JSON.stringify({ ...good, prompt: { kind: 'vpt', P: [[1, 2]], mode: 'wide' } }), /^prompt-experts moe-view: prompt\.mode: expected one of "deep", "shallow", got "wide"/],
  ['kv V rows', JSON.stringify({ ...good, prompt: { kind: 'kv', K: [[1, 2]], V: [[1], [2]] } }), /^prompt-experts moe-view: prompt\.V: expected an array of length 1/],
  [
    'vapt grid',
    JSON.stringify({ ...good, prompt: { kind: 'vapt', grid: [2, 2], kernel: [[1]], padding: 0, alpha: [[1, 1, 1]], bias: [0], W1: [[1, 1]], W2: [[1], [1]], residual: true, layerNorm: null } }),
    /^prompt-experts moe-view: prompt\.grid: expected H\*W equal to the number of tokens N = 3, got 2x2 = 4/,
  ],
  [
    'vapt alpha width',
    JSON.stringify({ ...good, prompt: { kind: 'vapt', grid: [1, 3], kernel: [[1]], padding: 0, alpha: [[1, 1]], bias: [0], W1: [[1, 1]], W2: [[1], [1]], residual: true, layerNorm: null } }),
    /^prompt-experts moe-view: prompt\.alpha\[0\]: expected an array of length 3 \(H'W' = 1x3\)/,
  ],
  [
    'vapt kernel too large',
    JSON.stringify({ ...good, prompt: { kind: 'vapt', grid: [1, 3], kernel: [[1, 1], [1, 1]], padding: 0, alpha: [[1]], bias: [0], W1: [[1, 1]], W2: [[1], [1]], residual: true, layerNorm: null } }),
    /^prompt-experts moe-view: prompt\.kernel: expected a kernel size K <= 1/,
  ],
  [
    'vapt layerNorm gamma',
    JSON.stringify({ ...good, prompt: { kind: 'vapt', grid: [1, 3], kernel: [[1]], padding: 0, alpha: [[1, 1, 1]], bias: [0], W1: [[1, 1]], W2: [[1], [1]], residual: true, layerNorm: { gamma: [1], beta: [0, 0] } } }),
    /^prompt-experts moe-view: prompt\.layerNorm\.gamma: expected an array of length 2 \(d\)/,
  ],
  ['not an object', '[1, 2]', /^prompt-experts moe-view: root: expected an object/],
];

for (const [name, text, re] of bad) {
  test(`moe-view bad input (${name}): exit 2, empty stdout, one stderr line naming the field`, async () => {
    const r = await runCli(['moe-view', '--json', file(text)]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.split('\n').length, 2, r.stderr);
    assert.ok(r.stderr.endsWith('\n'));
    assert.match(r.stderr, re);
  });
}

test('moe-view: a missing file and a missing argument are input errors', async () => {
  for (const argv of [['moe-view', join(dir, 'nope.json')], ['moe-view'], ['moe-view', '--frobnicate', 'x']]) {
    const r = await runCli(argv);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.split('\n').length, 2);
  }
});

test('params prints the ViT-B/16 table with the required numbers', async () => {
  const r = await runCli(['params']);
  assert.equal(r.code, 0);
  for (const n of ['92,160', '138,240', '55,608', '32,616']) assert.ok(r.stdout.includes(n), n);
  const j = await runCli(['params', '--json']);
  const doc = JSON.parse(j.stdout) as { methods: Array<{ config: { kind: string }; accounting: string; total: number }> };
  assert.deepEqual(
    doc.methods.map((m) => [m.config.kind, m.accounting, m.total]),
    [
      ['vpt', 'official', 92160],
      ['e2vpt', 'official', 138240],
      ['vapt', 'official', 55608],
      ['vapt', 'poster', 32616],
    ],
  );
});

test('params flags and config files', async () => {
  const r = await runCli(['params', '--method', 'vpt', '--layers', '6', '--width', '100', '--prompts', '3', '--json']);
  assert.equal((JSON.parse(r.stdout) as { methods: Array<{ total: number }> }).methods[0]?.total, 1800);
  const cfg = file(JSON.stringify({ vit: { layers: 12, width: 768, grid: [14, 14] }, methods: [{ kind: 'vapt', rank: 4 }], accounting: 'poster' }));
  const c = await runCli(['params', cfg, '--json']);
  assert.equal((JSON.parse(c.stdout) as { methods: Array<{ total: number }> }).methods[0]?.total, 12 * (4 + 1690) + 2 * 4 * 768);
  for (const argv of [['params', '--grid', '14'], ['params', '--layers', '0'], ['params', file('{"methods":[{"kind":"lora"}]}')], ['params', '--method', 'vapt', '--kernel', '20']]) {
    const e = await runCli(argv);
    assert.equal(e.code, 2, argv.join(' '));
    assert.equal(e.stdout, '');
    assert.equal(e.stderr.split('\n').length, 2, e.stderr);
  }
});
