/**
 * CLI fuzz suite: generated bad inputs for every subcommand (wrong types, wrong shapes,
 * non-finite and huge numbers, missing and unknown fields, empty and truncated files, folders
 * where files belong, bad flags), each run in-process through `invoke`. Every case must exit 2,
 * print nothing on stdout, exactly one line on stderr naming the field, and write no file.
 * Seeded (fast-check), so a failure replays; the whole file runs in seconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { invoke } from '../../src/cli/main.js';

/** Every path under `dir` with its size and mtime: equal before and after means nothing was written. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      out.push(`${p} ${st.isDirectory() ? 'dir' : `${st.size} ${st.mtimeMs}`}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** A case: the argv (built inside a fresh folder) and a pattern the one stderr line must match. */
interface Case {
  readonly what: string;
  readonly argv: (dir: string) => string[];
  readonly field: RegExp | string;
}

async function expectRefused(c: Case): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pe-fuzz-'));
  const argv = c.argv(dir);
  const before = snapshot(dir);
  const r = await invoke(argv);
  const why = `${c.what}: ${argv.join(' ')}\n  stderr: ${r.stderr}`;
  assert.equal(r.code, 2, why);
  assert.equal(r.stdout, '', why);
  assert.ok(r.stderr.endsWith('\n') && r.stderr.indexOf('\n') === r.stderr.length - 1, `one stderr line: ${why}`);
  if (typeof c.field === 'string') assert.ok(r.stderr.includes(c.field), `names ${c.field}: ${why}`);
  else assert.match(r.stderr, c.field, why);
  assert.deepEqual(snapshot(dir), before, `nothing written: ${why}`);
}

const write = (dir: string, name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** Values of the wrong JSON type for a field that wants `kind`. */
const wrongType = (kind: 'number' | 'array' | 'object' | 'string'): fc.Arbitrary<unknown> =>
  fc.oneof(
    ...(kind === 'number' ? [] : [fc.double({ noNaN: true, noDefaultInfinity: true })]),
    ...(kind === 'string' ? [] : [fc.string({ maxLength: 6 })]),
    ...(kind === 'array' ? [] : [fc.array(fc.integer(), { maxLength: 3 })]),
    ...(kind === 'object' ? [] : [fc.constant({ a: 1 })]),
    fc.constant(null),
    fc.boolean(),
  );

/** A JSON text with a field replaced (or removed when `value` is undefined), `extra` keys added. */
const withField = (doc: Record<string, unknown>, key: string, value: unknown): string => {
  const copy: Record<string, unknown> = { ...doc };
  if (value === undefined) delete copy[key];
  else copy[key] = value;
  return JSON.stringify(copy);
};

/** The doc's text cut at a random place (empty included): never valid JSON. */
const truncated = (doc: unknown): fc.Arbitrary<string> => {
  const text = JSON.stringify(doc);
  return fc.integer({ min: 0, max: text.length - 1 }).map((k) => text.slice(0, k));
};

/** Common file-level cases for a command that reads the JSON file `name` given by `argv(path)`. */
function fileCases(command: string, doc: unknown, name: string, argv: (path: string, dir: string) => string[], what: RegExp): fc.Arbitrary<Case>[] {
  return [
    truncated(doc).map((text) => ({ what: `${command}: truncated ${name}`, argv: (d) => argv(write(d, name, text), d), field: new RegExp(`${name}: expected valid JSON`) })),
    fc.constant({ what: `${command}: a folder for ${name}`, argv: (d: string) => { mkdirSync(join(d, 'sub', name), { recursive: true }); return argv(join(d, 'sub', name), join(d, 'sub')); }, field: new RegExp(`${name}: expected ${what.source}, got a directory`) }),
    fc.constant({ what: `${command}: a missing ${name}`, argv: (d: string) => argv(join(d, name), d), field: `${name}: expected` }),
  ];
}

async function fuzz(cases: fc.Arbitrary<Case>, seed: number, numRuns: number): Promise<void> {
  await fc.assert(fc.asyncProperty(cases, async (c) => expectRefused(c)), { seed, numRuns });
}

// ---------------------------------------------------------------------------------------- moe-view

const moeDoc = {
  X: [[1, 0], [0, 1], [1, 1]],
  WQ: [[1, 0], [0, 1]],
  WK: [[1, 0], [0, 1]],
  WV: [[1], [2]],
  prompt: { kind: 'vpt', P: [[0.5, -0.5]], mode: 'shallow' },
};

const moeCases: fc.Arbitrary<Case> = fc.oneof(
  fc.record({ key: fc.constantFrom('X', 'WQ', 'WK', 'WV'), v: wrongType('array') }).map(({ key, v }) => ({ what: 'moe-view: wrong type', argv: (d: string) => ['moe-view', write(d, 'in.json', withField(moeDoc, key, v))], field: `${key}: expected` })),
  fc.constantFrom('X', 'WQ', 'WK', 'WV', 'prompt').map((key) => ({ what: 'moe-view: missing field', argv: (d: string) => ['moe-view', write(d, 'in.json', withField(moeDoc, key, undefined))], field: `${key}: expected` })),
  fc.string({ minLength: 1, maxLength: 5 }).filter((k) => !(k in moeDoc) && /^\w+$/.test(k)).map((key) => ({ what: 'moe-view: unknown field', argv: (d: string) => ['moe-view', write(d, 'in.json', withField(moeDoc, key, 1))], field: `${key}: expected no field` })),
  fc.constantFrom('X', 'WQ', 'WK').map((key) => ({ what: 'moe-view: ragged rows', argv: (d: string) => ['moe-view', write(d, 'in.json', withField(moeDoc, key, [[1, 0], [1]]))], field: new RegExp(`(${key}|WQ|WK)(\\[\\d\\])?: expected an array of length`) })),
  fc.constantFrom('1e400', '-1e999').map((lit) => ({ what: 'moe-view: non-finite literal', argv: (d: string) => ['moe-view', write(d, 'in.json', JSON.stringify(moeDoc).replace('[[1,0],[0,1],[1,1]]', `[[${lit},0],[0,1],[1,1]]`))], field: 'X[0][0]: expected a finite number' })),
  fc.double({ min: 1e160, max: 1e300, noNaN: true }).map((big) => ({ what: 'moe-view: overflowing entries', argv: (d: string) => ['moe-view', '--json', write(d, 'in.json', JSON.stringify({ ...moeDoc, X: moeDoc.X.map((r) => r.map((x) => x * big)) }))], field: /: (scores|gates|expertOutputs|output|attention)\[\d+\]\[\d+\]: expected a finite value/ })),
  fc.constant({ what: 'moe-view: a head too large', argv: (d: string) => ['moe-view', write(d, 'in.json', JSON.stringify({ X: Array.from({ length: 400 }, () => Array(400).fill(0.1)), WQ: Array.from({ length: 400 }, () => [1]), WK: Array.from({ length: 400 }, () => [1]), WV: Array.from({ length: 400 }, () => [1]), prompt: null }))], field: 'X: expected a head small enough' }),
  fc.constantFrom(['--jsn'], ['--json=3'], []).map((flags) => ({ what: 'moe-view: bad flags', argv: (d: string) => ['moe-view', ...flags, ...(flags.length === 0 ? [write(d, 'a.json', '{}'), write(d, 'b.json', '{}')] : [write(d, 'in.json', JSON.stringify(moeDoc))])], field: /--jsn: expected one of the flags|--json: expected no value|moe-view arguments: expected one input/ })),
  ...fileCases('moe-view', moeDoc, 'in.json', (p) => ['moe-view', p], /a readable JSON file/),
);

test('moe-view: bad input is exit 2, one stderr line naming the field, nothing written', async () => {
  await fuzz(moeCases, 14, 60);
});

// ---------------------------------------------------------------------------------------- simulate

const study = {
  name: 'fuzz',
  seed: 3,
  n: [20, 50],
  replications: 2,
  model: { kind: 'mean', dim: 2 },
  loss: 'l2',
  variants: [{ name: 'a' }, { name: 'b', model: { sigma: 2 } }],
};

const badTopLevel: Record<string, fc.Arbitrary<unknown>> = {
  name: fc.oneof(fc.constant(''), wrongType('string')),
  seed: fc.oneof(fc.integer({ max: -1 }), fc.double({ min: 0.1, max: 0.9 }), fc.constantFrom(2 ** 40, 1e300), wrongType('number')),
  n: fc.oneof(fc.constant([]), fc.array(fc.constantFrom(1, 0, -5, 2.5, 1e9, 1e300), { minLength: 1, maxLength: 3 }), fc.constant({ from: 10, to: 5, count: 3 }), fc.constant({ from: 10, to: 100, count: 1e9 }), fc.constantFrom('100', null, true)),
  replications: fc.oneof(fc.constantFrom(0, -1, 1.5, 1e9, 1e300), wrongType('number')),
  loss: fc.oneof(fc.constant(''), wrongType('string')),
  variants: fc.oneof(fc.constant([]), fc.constant([{ name: 'a' }, { name: 'a' }]), fc.constant([{ nme: 'a' }]), wrongType('array')),
  model: fc.oneof(wrongType('object').filter((v) => v !== null && typeof v !== 'object'), fc.constant([1]), fc.constant({ kind: 'nope' }), fc.constant({ kind: 'mean', dim: -1 }), fc.constant({ kind: 'mean', sigma: 0 })),
};

const simCases: fc.Arbitrary<Case> = fc.oneof(
  fc.constantFrom(...Object.keys(badTopLevel)).chain((key) =>
    (badTopLevel[key] as fc.Arbitrary<unknown>).map((v) => ({ what: `simulate: bad ${key}`, argv: (d: string) => ['simulate', write(d, 'study.json', withField(study, key, v))], field: new RegExp(`(^|: |\\.)${key === 'model' ? 'variants\\[0\\]\\.model|model' : key}[\\[.:]`) })),
  ),
  fc.constantFrom('name', 'seed', 'n', 'replications', 'loss', 'variants').map((key) => ({ what: `simulate: missing ${key}`, argv: (d: string) => ['simulate', write(d, 'study.json', withField(study, key, undefined))], field: `${key}: expected` })),
  fc.string({ minLength: 1, maxLength: 5 }).filter((k) => !(k in study) && /^\w+$/.test(k) && !['description', 'estimator', 'claims', 'quick'].includes(k)).map((key) => ({ what: 'simulate: unknown field', argv: (d: string) => ['simulate', write(d, 'study.json', withField(study, key, 1))], field: `${key}: expected no field` })),
  fc.constantFrom<[string[], string]>(
    [['--workers', '-1'], '--workers: expected an integer in [0, 1024], got "-1"'],
    [['--workers', 'many'], '--workers: expected an integer'],
    [['--workers', '1e9'], '--workers: expected an integer in [0, 1024]'],
    [['--workers'], '--workers: expected a value'],
    [['--shard', '0/3'], '--shard: expected i/N'],
    [['--shard', '4/3'], '--shard: expected i/N'],
    [['--limit', '0'], '--limit: expected an integer >= 1'],
    [['--max-memory', 'lots'], '--max-memory: expected a size'],
    [['--max-memory', '1k'], 'n: expected sample sizes whose cells fit in --max-memory'],
    [['--max-cell-seconds', '0'], '--max-cell-seconds: expected a positive number of seconds'],
    [['--max-cell-seconds', 'soon'], '--max-cell-seconds: expected a positive number of seconds'],
    [['--max-cell-seconds', '1e-12'], 'n: expected sample sizes whose cells take at most --max-cell-seconds'],
    [['--variant', 'zz'], '--variant: expected one of "a", "b"'],
    [['--quick'], 'quick: expected a "quick" block'],
    [['--fast'], '--fast: expected one of the flags of simulate'],
  ).map(([flags, field]) => ({ what: 'simulate: bad flag', argv: (d: string) => ['simulate', write(d, 'study.json', JSON.stringify(study)), ...flags], field })),
  fc.constantFrom('1e999', '-1e400').map((lit) => ({ what: 'simulate: a non-finite number', argv: (d: string) => ['simulate', write(d, 'study.json', JSON.stringify(study).replace('"sigma":2', `"sigma":${lit}`))], field: 'variants[1].model.sigma: expected' })),
  fc.constant({ what: 'simulate: n too large for the memory limit', argv: (d: string) => ['simulate', write(d, 'study.json', JSON.stringify({ ...study, n: [100_000_000] }))], field: 'n: expected sample sizes whose cells fit in --max-memory' }),
  fc.constantFrom('results.jsonl', 'run.json', 'failures.jsonl').map((name) => ({ what: `simulate: a folder where ${name} goes`, argv: (d: string) => { mkdirSync(join(d, name)); return ['simulate', write(d, 'study.json', JSON.stringify(study))]; }, field: `${name}: expected` })),
  fc.constantFrom('not json\n{}\n', '[1,2]\n{"variant":"a"}\n').map((text) => ({ what: 'simulate: a corrupt results line', argv: (d: string) => { write(d, 'results.jsonl', text); return ['simulate', write(d, 'study.json', JSON.stringify(study))]; }, field: 'results.jsonl:1: expected one JSON results line' })),
  ...fileCases('simulate', study, 'study.json', (p) => ['simulate', p], /a readable study\.json/),
);

test('simulate: a bad study or flag is exit 2 with the field named, before anything is written', async () => {
  await fuzz(simCases, 7, 80);
});

// ---------------------------------------------------------------------------------------- merge

const shardLine = (rep: number): string => `${JSON.stringify({ variant: 'a', n: 20, rep, seed: 1, loss: 0.1, losses: { l2: 0.1 }, configHash: 'x' })}\n`;

const mergeCases: fc.Arbitrary<Case> = fc.oneof(
  fc.constant({ what: 'merge: no shard files', argv: (d: string) => { write(d, 'study.json', JSON.stringify(study)); return ['merge', d]; }, field: 'expected shard results files' }),
  fc.constant({ what: 'merge: a folder as input', argv: (d: string) => { write(d, 'study.json', JSON.stringify(study)); mkdirSync(join(d, 'x.jsonl')); return ['merge', d, join(d, 'x.jsonl')]; }, field: 'x.jsonl: expected a results file (one JSON line per fit), got a directory' }),
  fc.constant({ what: 'merge: a device as input', argv: (d: string) => { write(d, 'study.json', JSON.stringify(study)); return ['merge', d, '/dev/zero']; }, field: '/dev/zero: expected a results file (one JSON line per fit) (a regular file)' }),
  fc.constant({ what: 'merge: a missing input', argv: (d: string) => { write(d, 'study.json', JSON.stringify(study)); return ['merge', d, join(d, 'gone.jsonl')]; }, field: 'gone.jsonl: expected an existing results file' }),
  fc.integer({ min: 0, max: 3 }).map((k) => ({ what: 'merge: a corrupt shard line', argv: (d: string) => { write(d, 'study.json', JSON.stringify(study)); write(d, 'results.shard-1-of-2.jsonl', `${shardLine(0).repeat(k)}{"torn"\n${shardLine(1)}`); return ['merge', d]; }, field: `results.shard-1-of-2.jsonl:${k + 1}: expected` })),
  fc.constant({ what: 'merge: a folder where results.jsonl goes', argv: (d: string) => { write(d, 'study.json', JSON.stringify(study)); write(d, 'results.shard-1-of-2.jsonl', shardLine(0)); mkdirSync(join(d, 'results.jsonl')); return ['merge', d]; }, field: 'results.jsonl: expected a file or nothing (it is created), got a directory' }),
  fc.constant({ what: 'merge: not a study folder', argv: (d: string) => ['merge', join(d, 'nope')], field: 'nope: expected a study folder' }),
  fc.constant({ what: 'merge: no arguments', argv: () => ['merge'], field: 'merge arguments: expected a study folder' }),
);

test('merge: no inputs, folders, devices and corrupt shards are exit 2 and write nothing', async () => {
  await fuzz(mergeCases, 21, 30);
});

// ---------------------------------------------------------------------------------------- rates (cases that already exited 2)

const ratesCases: fc.Arbitrary<Case> = fc.oneof(
  fc.constant({ what: 'rates: not a folder', argv: (d: string) => ['rates', join(d, 'nope')], field: 'nope: expected a study folder' }),
  fc.constantFrom('0', '1', '-0.5', '2', 'x').map((level) => ({ what: 'rates: --level', argv: (d: string) => { write(d, 'study.json', JSON.stringify(study)); return ['rates', d, '--level', level]; }, field: '--level: expected a number in (0, 1)' })),
  fc.constantFrom('x', '1.5', '-3').map((b) => ({ what: 'rates: --bootstrap', argv: (d: string) => { write(d, 'study.json', JSON.stringify(study)); return ['rates', d, '--bootstrap', b]; }, field: '--bootstrap: expected an integer' })),
  fc.constant({ what: 'rates: no results yet', argv: (d: string) => { write(d, 'study.json', JSON.stringify(study)); return ['rates', d]; }, field: 'results.jsonl: expected a results file' }),
  fc.constant({ what: 'rates: unknown flag', argv: (d: string) => ['rates', d, '--fast'], field: '--fast: expected one of the flags of rates' }),
);

test('rates: bad folders and flags are exit 2 with one line', async () => {
  await fuzz(ratesCases, 5, 15);
});

// ---------------------------------------------------------------------------------------- params

const paramsCases: fc.Arbitrary<Case> = fc.oneof(
  fc.record({ key: fc.constantFrom('vit', 'methods'), v: fc.constantFrom<unknown>('x', 3, [1], { layers: -1 }, { grid: [0, 1] }) }).map(({ key, v }) => ({ what: 'params: bad config', argv: (d: string) => ['params', write(d, 'cfg.json', JSON.stringify({ [key]: v }))], field: new RegExp(`${key}(\\.\\w+|\\[\\d+\\])*: expected`) })),
  fc.constantFrom<[string[], string]>([['--layers', '0'], '--layers'], [['--layers', '-2'], '--layers'], [['--method', 'lora'], '--method'], [['--grid', '3'], '--grid']).map(([flags, field]) => ({ what: 'params: bad flag', argv: () => ['params', ...flags], field })),
  ...fileCases('params', { vit: { layers: 2 } }, 'cfg.json', (p) => ['params', p], /a readable JSON file/),
);

test('params: bad configs and flags are exit 2 with one line', async () => {
  await fuzz(paramsCases, 9, 25);
});

// ---------------------------------------------------------------------------------------- vit sweep

const sweep = {
  kind: 'vit-sweep',
  name: 'fuzz',
  backbone: { vit: { imageSize: 14, channels: 1, patch: 7, width: 16, depth: 1, heads: 2, mlpRatio: 2 }, steps: 2 },
  tasks: ['count'],
  methods: [{ name: 'vpt-deep', config: { prompts: 2 } }, { name: 'vapt', config: { prompts: 2, kernel: 2, rank: 2 } }],
  n: [16],
  seeds: [1],
  testSize: 20,
  train: { steps: 2, batchSize: 8 },
};

const badSweep: Record<string, fc.Arbitrary<unknown>> = {
  kind: fc.constantFrom('vit', 'vit-planted', 3),
  tasks: fc.constantFrom([], ['cifar'], 'count'),
  methods: fc.constantFrom([], [{ name: 'lora' }], [{ name: 'vapt', config: { kernel: 9 } }], [{ name: 'vpt-deep', config: { rank: 2 } }], [{ name: 'vpt-deep' }, { name: 'vpt-deep' }], [{ name: 'linear-probe', prune: {} }]),
  n: fc.constantFrom([], [0], [1e9], [2.5], 'many'),
  seeds: fc.constantFrom([], [-1], [2 ** 40]),
  testSize: fc.constantFrom(0, 1e7, 1e300, '20'),
  train: fc.constantFrom({}, { steps: 0 }, { steps: 2, lr: -1 }, []),
  backbone: fc.constantFrom({}, { vit: { ...sweep.backbone.vit, patch: 5 } }, { vit: { ...sweep.backbone.vit, heads: 3 } }, { vit: { ...sweep.backbone.vit, width: 1e9 } }, { vit: sweep.backbone.vit, trainSize: 1e8 }),
};

const sweepCases: fc.Arbitrary<Case> = fc.oneof(
  fc.constantFrom(...Object.keys(badSweep)).chain((key) =>
    (badSweep[key] as fc.Arbitrary<unknown>).map((v) => ({ what: `vit sweep: bad ${key}`, argv: (d: string) => ['vit', 'sweep', write(d, 'study.json', withField(sweep, key, v))], field: new RegExp(`study\\.json: ${key}[\\[.:]`) })),
  ),
  fc.string({ minLength: 1, maxLength: 5 }).filter((k) => !(k in sweep) && /^\w+$/.test(k) && k !== 'description').map((key) => ({ what: 'vit sweep: unknown field', argv: (d: string) => ['vit', 'sweep', write(d, 'study.json', withField(sweep, key, 1))], field: `${key}: expected no field` })),
  fc.constant({ what: 'vit sweep: a corrupt results.jsonl', argv: (d: string) => { write(d, 'results.jsonl', '{"method":"a"}\n[oops\n{}\n'); return ['vit', 'sweep', write(d, 'study.json', JSON.stringify(sweep))]; }, field: 'results.jsonl:2: expected one JSON object per line' }),
  fc.constant({ what: 'vit sweep: a folder where results.jsonl goes', argv: (d: string) => { mkdirSync(join(d, 'results.jsonl')); return ['vit', 'sweep', write(d, 'study.json', JSON.stringify(sweep))]; }, field: 'results.jsonl: expected' }),
  fc.constantFrom<[string[], string]>([['--backend', 'tpu'], '--backend: expected one of'], [['--steps', '3'], 'vit sweep arguments: expected only --backend']).map(([flags, field]) => ({ what: 'vit sweep: bad flag', argv: (d: string) => ['vit', 'sweep', write(d, 'study.json', JSON.stringify(sweep)), ...flags], field })),
  ...fileCases('vit sweep', sweep, 'study.json', (p) => ['vit', 'sweep', p], /a readable study\.json/),
);

test('vit sweep: a bad study is exit 2 with the field named, before a backend, run.json or a backbone', async () => {
  await fuzz(sweepCases, 11, 60);
});
