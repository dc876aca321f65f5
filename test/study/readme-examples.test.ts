import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStudy } from '../../src/study/schema.js';
import { runStudy, readResults } from '../../src/study/runner.js';
import { listKinds } from '../../src/study/registry.js';
import '../../src/study/kinds/index.js';

/** The complete study examples of README.md ("One complete study per kind"). */
function readmeStudies(): unknown[] {
  const text = readFileSync('README.md', 'utf8');
  return [...text.matchAll(/```json\n([\s\S]*?)```/g)]
    .map((m) => m[1] ?? '')
    .filter((b) => b.includes('"variants"') && !b.includes('...'))
    .map((b) => JSON.parse(b) as unknown);
}

test('README: one complete, valid study per built-in kind, each runs a cell of every variant', async () => {
  const studies = readmeStudies();
  const kinds = new Set(studies.map((s) => ((s as { model: { kind: string } }).model.kind)));
  for (const k of listKinds()) assert.ok(kinds.has(k.kind), `README has no example for kind ${k.kind}`);
  for (const raw of studies) {
    const study = { ...parseStudy(raw), n: [150], replications: 1 };
    const s = await runStudy(study, mkdtempSync(join(tmpdir(), 'pe-readme-')), { workers: 0, quiet: true });
    assert.equal(s.failed, 0, study.name);
    assert.equal(readResults(s.resultsPath).length, study.variants.length, study.name);
  }
});
