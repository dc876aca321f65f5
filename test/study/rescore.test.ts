import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStudy, planStudy } from '../../src/study/schema.js';
import { runStudy, readResults } from '../../src/study/runner.js';
import { rescoreStudy } from '../../src/study/rescore.js';
import type { ResultLine } from '../../src/study/cell.js';
import { InputError } from '../../src/util/errors.js';

const study = parseStudy({
  name: 'rescore',
  seed: 4,
  n: [300, 600],
  replications: 2,
  loss: 'D2',
  model: { kind: 'softmax-gaussian', truth: { components: [{ bias: 0, beta: [2], a: [1], b: 0.5, nu: 0.05 }, { bias: 0, beta: [-2], a: [-1], b: -0.5, nu: 0.05 }] }, k: 3 },
  estimator: { maxIterations: 40 },
  variants: [{ name: 'over' }, { name: 'exact', model: { k: 2 } }],
});

test('rescore: losses taken off the lines come back from the estimates, to the bit; other lines are left alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pe-rescore-'));
  const s = await runStudy(study, dir, { workers: 0, quiet: true });
  const before = readResults(s.resultsPath);
  assert.equal(before.length, 8);
  // Drop two losses from every line, and give one line an older config hash.
  const stripped = before.map((l, i): ResultLine => {
    const { 'merged-D2': _m, 'atoms-single': _a, ...rest } = l.losses;
    return { ...l, losses: rest, ...(i === 0 ? { configHash: 'older' } : {}) };
  });
  writeFileSync(s.resultsPath, stripped.map((l) => `${JSON.stringify(l)}\n`).join(''));
  const r = await rescoreStudy(study, dir);
  assert.deepEqual([r.rescored, r.skipped], [7, 1]);
  assert.deepEqual(r.added, ['atoms-single', 'merged-D2']);
  assert.equal(r.maxRelativeChange, 0);
  const after = readResults(s.resultsPath);
  assert.deepEqual(after[0], stripped[0]);
  for (let i = 1; i < after.length; i++) {
    assert.deepEqual(after[i]?.losses, before[i]?.losses);
    assert.equal(after[i]?.loss, before[i]?.loss);
  }
  // In an exact fit nothing merges: the merged losses are the fit's own.
  for (const l of after.filter((x) => x.variant === 'exact')) assert.equal(l.losses['merged-D2'], l.losses.D2);
  // A second pass changes no byte.
  const text = readFileSync(s.resultsPath, 'utf8');
  await rescoreStudy(study, dir);
  assert.equal(readFileSync(s.resultsPath, 'utf8'), text);
});

test('rescore: a study with no results is an error naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pe-rescore-'));
  await assert.rejects(rescoreStudy(study, dir), (e: unknown) => e instanceof InputError && e.field.endsWith('results.jsonl'));
});

test('model.scoring stays out of the config hash: a reference added later rescores stored fits; at the true variances the -ref losses are the plain ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pe-rescore-'));
  await runStudy(study, dir, { workers: 0, quiet: true });
  const withRef = (nu: number[]) => parseStudy({ ...study, model: { ...study.model, scoring: { referenceNu: nu } } });
  assert.deepEqual(planStudy(withRef([0.3, 0.4]), false).variants.map((v) => v.configHash), planStudy(study, false).variants.map((v) => v.configHash));
  const r = await rescoreStudy(withRef([0.05, 0.05]), dir);
  assert.equal(r.rescored, 8);
  assert.deepEqual(r.added, ['D2-ref', 'merged-D1-ref', 'merged-D2-ref']);
  for (const l of readResults(join(dir, 'results.jsonl'))) {
    assert.equal(l.losses['D2-ref'], l.losses['D2-code']);
    assert.equal(l.losses['merged-D2-ref'], l.losses['merged-D2-code']);
  }
  await rescoreStudy(withRef([0.3, 0.4]), dir);
  for (const l of readResults(join(dir, 'results.jsonl'))) assert.ok((l.losses['D2-ref'] as number) > (l.losses['D2-code'] as number), 'scored against variances 6-8 times the true ones');
  await assert.rejects(rescoreStudy(withRef([0.3]), dir), (e: unknown) => e instanceof InputError && e.field === 'variants[0].model.scoring.referenceNu');
});
