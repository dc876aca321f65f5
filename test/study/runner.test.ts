import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../src/util/errors.js';
import { parseStudy, planStudy, expandGrid, type StudyConfig } from '../../src/study/schema.js';
import { gridCells, shardCells, runStudy, readResults, parseShard, cellKey } from '../../src/study/runner.js';
import { mergeStudy, dedupLines } from '../../src/study/merge.js';
import type { ResultLine } from '../../src/study/cell.js';
import { resolveFold } from '../../src/linalg/gram-fold.js';

const tiny = (): StudyConfig =>
  parseStudy({
    name: 'tiny',
    seed: 11,
    n: [20, 50, 200],
    replications: 3,
    model: { kind: 'mean', dim: 2 },
    loss: 'l2',
    variants: [{ name: 'one' }, { name: 'two', model: { sigma: 3 } }],
    claims: [{ variants: ['one', 'two'], rate: 'n^-1/2', slope: -0.5 }],
    quick: { n: [20, 50], replications: 2, variants: ['one'] },
  });

const dir = (): string => mkdtempSync(join(tmpdir(), 'pe-study-'));
const strip = (l: ResultLine): Omit<ResultLine, 'seconds' | 'cellSeconds'> => {
  const { seconds: _s, cellSeconds: _c, ...rest } = l;
  return rest;
};
const sortLines = (ls: ResultLine[]): ResultLine[] => [...ls].sort((a, b) => cellKey(a).localeCompare(cellKey(b)));

function throwsField(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => e instanceof InputError && e.field === field, `expected an InputError on ${field}`);
}

test('schema errors name the field', () => {
  const base = { name: 's', seed: 1, n: [10], replications: 1, model: { kind: 'mean' }, loss: 'l2', variants: [{ name: 'a' }] };
  throwsField(() => parseStudy({ ...base, replications: 0 }), 'replications');
  throwsField(() => parseStudy({ ...base, n: [10, 1] }), 'n[1]');
  throwsField(() => parseStudy({ ...base, seed: -3 }), 'seed');
  throwsField(() => parseStudy({ ...base, variants: [{ name: 'a' }, { name: 'a' }] }), 'variants[1].name');
  throwsField(() => parseStudy({ ...base, variants: [{ name: 'a', modle: {} }] }), 'variants[0].modle');
  throwsField(() => parseStudy({ ...base, model: undefined }), 'variants[0].model.kind');
  throwsField(() => parseStudy({ ...base, claims: [{ variants: ['b'], rate: 'x', slope: -0.5 }] }), 'claims[0].variants[0]');
  throwsField(() => parseStudy({ ...base, quick: { variants: ['zz'] } }), 'quick.variants[0]');
  const bad = parseStudy({ ...base, variants: [{ name: 'a' }, { name: 'b', model: { sigma: -1 } }] });
  return runStudy(bad, dir(), { workers: 0, quiet: true }).then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => assert.ok(e instanceof InputError && e.field === 'variants[1].model.sigma', String(e)),
  );
});

test('unknown model kind is named with the kinds available', async () => {
  const s = parseStudy({ name: 's', seed: 1, n: [10], replications: 1, loss: 'l2', variants: [{ name: 'a', model: { kind: 'nope' } }] });
  await assert.rejects(runStudy(s, dir(), { workers: 0, quiet: true }), (e: unknown) => e instanceof InputError && e.field === 'variants[0].model.kind' && /mean/.test(e.message));
});

test('log-spaced n grid and quick plan', () => {
  assert.deepEqual(expandGrid({ from: 100, to: 100000, count: 4 }), [100, 1000, 10000, 100000]);
  const q = planStudy(tiny(), true);
  assert.deepEqual(q.n, [20, 50]);
  assert.equal(q.replications, 2);
  assert.deepEqual(q.variants.map((v) => v.name), ['one']);
  assert.throws(() => parseShard('0/3'), InputError);
  assert.throws(() => parseShard('4/3'), InputError);
  assert.deepEqual(parseShard('2/3'), { index: 2, count: 3 });
});

test('shards partition the grid exactly', () => {
  const cells = gridCells(planStudy(tiny(), false));
  assert.equal(cells.length, 2 * 3 * 3);
  for (let count = 1; count <= 7; count++) {
    const seen = new Map<number, number>();
    for (let i = 1; i <= count; i++) for (const c of shardCells(cells, { index: i, count })) seen.set(c.index, (seen.get(c.index) ?? 0) + 1);
    assert.equal(seen.size, cells.length);
    assert.ok([...seen.values()].every((k) => k === 1));
  }
  // Seeds are distinct per cell and do not depend on sharding.
  assert.equal(new Set(cells.map((c) => c.seed)).size, cells.length);
});

test('a killed run resumes: no cell twice, same lines as one uninterrupted run', async () => {
  const study = tiny();
  const a = dir();
  const first = await runStudy(study, a, { workers: 0, quiet: true, limit: 5 });
  assert.equal(first.ran, 5);
  // Simulate a kill in the middle of writing a line.
  appendFileSync(first.resultsPath, '{"variant":"one","n":2');
  const second = await runStudy(study, a, { workers: 0, quiet: true });
  assert.equal(second.skipped, 5);
  assert.equal(second.ran, 13);
  const lines = readResults(second.resultsPath);
  assert.equal(lines.length, 18);
  assert.equal(new Set(lines.map(cellKey)).size, 18);
  const runBefore = readFileSync(join(a, 'run.json'), 'utf8');
  const third = await runStudy(study, a, { workers: 0, quiet: true });
  assert.equal(third.ran, 0);
  assert.equal(readFileSync(join(a, 'run.json'), 'utf8'), runBefore, 'a no-op run leaves run.json as it was');
  const b = dir();
  await runStudy(study, b, { workers: 0, quiet: true });
  assert.deepEqual(sortLines(lines).map(strip), sortLines(readResults(join(b, 'results.jsonl'))).map(strip));
  const run = JSON.parse(readFileSync(join(a, 'run.json'), 'utf8')) as { sessions: { end: string | null; versions: Record<string, string>; fold: string }[] };
  assert.equal(run.sessions.length, 2);
  assert.ok(run.sessions.every((s) => s.end !== null && s.versions.node === process.version));
  assert.ok(run.sessions.every((s) => s.fold === resolveFold()), 'each session records the J^T J fold its fits ran with');
});

test('a changed variant config is refused, not mixed in', async () => {
  const a = dir();
  await runStudy(tiny(), a, { workers: 0, quiet: true, limit: 2 });
  const changed = parseStudy({ ...tiny(), model: { kind: 'mean', dim: 3 } });
  await assert.rejects(runStudy(changed, a, { workers: 0, quiet: true }), InputError);
});

test('worker threads give the same lines as the main thread', async () => {
  const study = tiny();
  const a = dir();
  const b = dir();
  await runStudy(study, a, { workers: 0, quiet: true, quick: true });
  const s = await runStudy(study, b, { workers: 2, quiet: true, quick: true });
  assert.equal(s.ran, 4);
  assert.match(s.resultsPath, /results\.quick\.jsonl$/);
  assert.deepEqual(sortLines(readResults(join(a, 'results.quick.jsonl'))).map(strip), sortLines(readResults(s.resultsPath)).map(strip));
});

test('shards merged equal the unsharded run; merge dedups and is deterministic', async () => {
  const study = tiny();
  const a = dir();
  for (const index of [1, 2, 3]) await runStudy(study, a, { workers: 0, quiet: true, shard: { index, count: 3 } });
  const m = mergeStudy(study, a);
  assert.equal(m.inputs.length, 3);
  assert.equal(m.lines, 18);
  assert.equal(m.missing, 0);
  const merged = readFileSync(m.out, 'utf8');
  // Merging again (the shards now duplicate every line of results.jsonl) changes nothing.
  const again = mergeStudy(study, a);
  assert.equal(again.duplicates, 18);
  assert.equal(readFileSync(again.out, 'utf8'), merged);
  const b = dir();
  await runStudy(study, b, { workers: 0, quiet: true });
  assert.deepEqual(readResults(m.out).map(strip), sortLines(readResults(join(b, 'results.jsonl'))).map(strip).sort((x, y) => (x.variant === y.variant ? x.n - y.n || x.rep - y.rep : x.variant === 'one' ? -1 : 1)));
  const run = JSON.parse(readFileSync(join(a, 'run.json'), 'utf8')) as { sessions: { shard: string }[] };
  assert.deepEqual(run.sessions.map((s) => s.shard).sort(), ['1/3', '2/3', '3/3']);
});

test('merge refuses two copies of a cell made with different configs', () => {
  const line = (configHash: string): ResultLine => ({ variant: 'v', n: 10, rep: 0, seed: 1, loss: 1, losses: { l2: 1 }, iterations: 1, converged: true, objective: 0, restarts: 1, seconds: 0, cellSeconds: 0, configHash });
  assert.equal(dedupLines([{ source: 'a', lines: [line('x')] }, { source: 'b', lines: [line('x')] }]).lines.length, 1);
  assert.throws(() => dedupLines([{ source: 'a', lines: [line('x')] }, { source: 'b', lines: [line('y')] }]), InputError);
  const a = dir();
  writeFileSync(join(a, 'results.shard-1-of-2.jsonl'), `${JSON.stringify(line('x'))}\nnot json\n${JSON.stringify(line('x'))}\n`);
  assert.throws(() => mergeStudy(tiny(), a), (e: unknown) => e instanceof InputError && /:2$/.test(e.field));
});

test('--max-cell-seconds: a generous limit runs, an impossible one is refused on n before anything is written', async () => {
  const a = dir();
  const s = await runStudy(tiny(), a, { workers: 0, quiet: true, limit: 1, maxCellSeconds: 60 });
  assert.equal(s.ran, 1);
  const b = dir();
  await assert.rejects(runStudy(tiny(), b, { workers: 0, quiet: true, maxCellSeconds: 1e-12 }), (e: unknown) => e instanceof InputError && e.field === 'n' && /variant "one"/.test(e.message));
  assert.deepEqual(readdirSync(b), []);
});
