import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStudy, planStudy } from '../../src/study/schema.js';
import { runStudy, readResults, truthFile } from '../../src/study/runner.js';
import { compileNExpression, nDependence } from '../../src/study/n-expressions.js';
import { presetBreakdown } from '../../src/loss/presets.js';
import type { MixingMeasure } from '../../src/mixture/measure.js';
import { InputError } from '../../src/util/errors.js';
import '../../src/study/kinds/index.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'pe-n-expr-'));

/** A contaminated study whose prompt expert's slope W* = 1 + 4 n^-1/2 approaches the pretrained tanh(x). */
const W_EXPR = '1 + 4 * n^(-1/2)';
const studyWith = (W: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'moving-truth',
  seed: 21,
  n: [100, 400],
  replications: 2,
  loss: 'D1',
  model: {
    kind: 'contaminated',
    frozen: [{ expert: 'tanh', params: { W: [1], c: [0] } }],
    expert: 'tanh',
    truth: { components: [{ bias: 0, beta: [1], W: [W], c: [0] }] },
    L: 1,
    ...extra,
  },
  estimator: { init: 'near', initScale: 0.1, initRate: 0, maxIterations: 100 },
  variants: [{ name: 'moving' }],
});

const fromJson = (atoms: ReadonlyArray<{ weight?: number; params: Record<string, number[]> }>): MixingMeasure => ({
  atoms: atoms.map((a) => ({ ...(a.weight === undefined ? {} : { weight: a.weight }), params: Object.fromEntries(Object.entries(a.params).map(([k, v]) => [k, Float64Array.from(v)])) })),
});

test('a truth expression is evaluated at each n, recorded per n, and each cell is scored against its own n truth', async () => {
  const d = dir();
  const s = await runStudy(parseStudy(studyWith({ expr: W_EXPR })), d, { workers: 0, quiet: true });
  assert.equal(s.failed, 0);
  const lines = readResults(s.resultsPath);
  assert.equal(lines.length, 4);
  const truths = JSON.parse(readFileSync(truthFile(d), 'utf8')) as Record<string, { truthByN: Record<string, { params: Record<string, number[]> }[]> }>;
  const byN = truths.moving?.truthByN ?? {};
  assert.deepEqual(Object.keys(byN), ['100', '400']);
  for (const n of [100, 400]) assert.equal(byN[String(n)]?.[0]?.params.W?.[0], 1 + 4 / Math.sqrt(n));
  for (const line of lines) {
    assert.ok(line.truth !== undefined);
    assert.equal(line.truth[0]?.params.W?.[0], 1 + 4 / Math.sqrt(line.n));
    const own = presetBreakdown('D1', fromJson(line.estimate ?? []), fromJson(line.truth)).total;
    assert.equal(line.losses.D1, own);
    const otherN = line.n === 100 ? '400' : '100';
    const other = presetBreakdown('D1', fromJson(line.estimate ?? []), fromJson(byN[otherN] ?? [])).total;
    assert.notEqual(line.losses.D1, other);
  }
  // A second run resumes: every cell is already there under the same config hash.
  const again = await runStudy(parseStudy(studyWith({ expr: W_EXPR })), d, { workers: 0, quiet: true });
  assert.equal(again.ran, 0);
  assert.equal(again.skipped, 4);
});

test('the config hash holds the expression, not its values: the same for every n, different for another expression', () => {
  const hash = (W: unknown): string => planStudy(parseStudy(studyWith(W)), false).variants[0]?.configHash ?? '';
  assert.equal(hash({ expr: W_EXPR }), hash({ expr: W_EXPR }));
  assert.notEqual(hash({ expr: W_EXPR }), hash({ expr: '1 + 4 * n^(-1/4)' }));
  assert.notEqual(hash({ expr: W_EXPR }), hash(1.2));
});

test('a design parameter may depend on n too', () => {
  const dep = nDependence({ kind: 'softmax-moe', design: { kind: 'uniform', low: -1, high: { expr: 'log(n)' } } }, 'variants[0]');
  assert.ok(dep !== undefined);
  assert.equal((dep.at(100).design as { high: number }).high, Math.log(100));
  assert.equal(nDependence({ kind: 'softmax-moe', truth: { seed: 1, k: 2 } }, 'variants[0]'), undefined);
});

test('bad expressions fail before any cell runs, naming the field', async () => {
  const cases: [unknown, Record<string, unknown>, RegExp][] = [
    [{ expr: '1 + n^(' }, {}, /variants\[0\]\.model\.truth\.components\[0\]\.W\[0\]\.expr/],
    [{ expr: '1 + m' }, {}, /truth\.components\[0\]\.W\[0\]\.expr.*symbol "m"/],
    [{ expr: 'foo(n)' }, {}, /function "foo"/],
    [{ expr: 42 }, {}, /W\[0\]\.expr: expected an expression in n/],
    [{ expr: 'log(n - 200)' }, {}, /W\[0\]\.expr: expected an expression in n with a finite value at every n of the grid, got "log\(n - 200\)" = NaN at n = 100/],
    [{ expr: '1', scale: 2 }, {}, /W\[0\]: expected \{ "expr"/],
    [1, { sigma: { expr: '0.1' } }, /variants\[0\]\.model\.sigma: expected a value fixed for every n/],
  ];
  for (const [W, extra, re] of cases) {
    const d = dir();
    await assert.rejects(runStudy(parseStudy(studyWith(W, extra)), d, { workers: 0, quiet: true }), (e: unknown) => e instanceof InputError && re.test(e.message), JSON.stringify(W));
    assert.equal(existsSync(join(d, 'results.jsonl')), false);
    assert.equal(existsSync(truthFile(d)), false);
  }
});

test('an expression that breaks a kind constraint at one n of the grid is refused before any cell runs', async () => {
  // A variance that turns negative for n > 1000: the kind's own check fails at the grid's n = 4000.
  const study = {
    name: 'bad-variance',
    seed: 1,
    n: [100, 4000],
    replications: 1,
    loss: 'D2',
    model: { kind: 'softmax-gaussian', truth: { components: [{ bias: 0, beta: [1], a: [1], b: 0, nu: { expr: '0.1 - n / 10000' } }, { bias: 0, beta: [-1], a: [-1], b: 0, nu: 0.1 }] }, k: 2 },
    variants: [{ name: 'v' }],
  };
  const d = dir();
  await assert.rejects(runStudy(parseStudy(study), d, { workers: 0, quiet: true }), (e: unknown) => e instanceof InputError && /variants\[0\]\.model\.truth/.test(e.message));
  assert.equal(existsSync(join(d, 'results.jsonl')), false);
});

test('compileNExpression accepts the documented functions and constants', () => {
  const e = compileNExpression('pi * exp(-n) + sqrt(n) + max(1, tanh(n))', 'f');
  assert.equal(e.value(4), Math.PI * Math.exp(-4) + 2 + Math.max(1, Math.tanh(4)));
});
