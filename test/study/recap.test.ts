/**
 * recap: raising an iteration cap and refitting only what the old cap stopped gives the results
 * file a run under the new cap writes from scratch (every field but the timings), for fixed and
 * multistart starts; bad requests fail naming the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStudy } from '../../src/study/schema.js';
import { runStudy, readResults } from '../../src/study/runner.js';
import { recapStudy, stoppedByCap } from '../../src/study/recap.js';
import type { ResultLine } from '../../src/study/cell.js';
import { InputError } from '../../src/util/errors.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'pe-recap-'));
const config = (cap: number, overCap?: number) => ({
  name: 'recap',
  seed: 11,
  n: [150, 400],
  replications: 3,
  loss: 'D1',
  model: { kind: 'prompt-mixture', prompt: 'vpt', N: 3, d: 3, Lstar: 2 },
  estimator: { kind: 'least-squares', maxIterations: cap },
  protocols: [
    { name: 'fixed', estimator: { start: { protocol: 'fixed', scale: 0.4 } } },
    { name: 'multistart', estimator: { start: { protocol: 'multistart', starts: 2, scale: 0.4 } } },
  ],
  variants: [{ name: 'over', model: { L: 3 }, ...(overCap === undefined ? {} : { estimator: { maxIterations: overCap } }) }, { name: 'exact', model: { L: 2 } }],
});
const timeless = (ls: ResultLine[]) => ls.map(({ seconds: _s, cellSeconds: _c, ...rest }) => rest).sort((a, b) => `${a.variant}|${a.n}|${a.rep}`.localeCompare(`${b.variant}|${b.n}|${b.rep}`));

test('recap + simulate under a raised cap equals a run under that cap from scratch', async () => {
  const lowCap = 12;
  const a = dir();
  await runStudy(parseStudy(config(lowCap)), a, { workers: 0, quiet: true });
  const low = readResults(join(a, 'results.jsonl'));
  const capped = low.filter(stoppedByCap);
  // The test means something only if the low cap stopped some fits and not others, in both protocols.
  assert.ok(capped.some((l) => l.protocol === 'fixed') && capped.some((l) => l.protocol === 'multistart'));
  assert.ok(low.some((l) => !stoppedByCap(l)));
  const raised = parseStudy(config(lowCap, 400));
  const s = recapStudy(raised, a, { fromCap: lowCap });
  assert.deepEqual(s.variants.map((v) => v.variant).sort(), ['over [fixed]', 'over [multistart]']);
  const overCapped = capped.filter((l) => l.variant.startsWith('over')).length;
  assert.equal(s.variants.reduce((x, v) => x + v.dropped, 0), overCapped);
  assert.equal(s.untouched, low.filter((l) => l.variant.startsWith('exact')).length);
  const r = await runStudy(raised, a, { workers: 0, quiet: true });
  assert.equal(r.ran, overCapped, 'simulate refits exactly the dropped cells');
  const b = dir();
  await runStudy(raised, b, { workers: 0, quiet: true });
  assert.deepEqual(timeless(readResults(join(a, 'results.jsonl'))), timeless(readResults(join(b, 'results.jsonl'))));
});

test('recap: dry run writes nothing; bad requests name the field', async () => {
  const a = dir();
  await runStudy(parseStudy(config(12)), a, { workers: 0, quiet: true });
  const path = join(a, 'results.jsonl');
  const before = readFileSync(path, 'utf8');
  const raised = parseStudy(config(12, 400));
  const s = recapStudy(raised, a, { fromCap: 12, dryRun: true });
  assert.ok(s.variants.some((v) => v.dropped > 0));
  assert.equal(readFileSync(path, 'utf8'), before);
  const field = (f: () => unknown, name: string) => assert.throws(f, (e: unknown) => e instanceof InputError && e.field.includes(name));
  field(() => recapStudy(raised, a, { fromCap: 0 }), '--from-cap');
  field(() => recapStudy(raised, a, { fromCap: 400 }), '--from-cap');
  field(() => recapStudy(raised, a, { fromCap: 12, variants: ['exact'] }), 'estimator.maxIterations');
  field(() => recapStudy(raised, a, { fromCap: 12, variants: ['nope'] }), '--variant');
  // Lines made under another cap than the one named are left alone.
  const other = recapStudy(raised, a, { fromCap: 11 });
  assert.ok(other.variants.every((v) => v.kept === 0 && v.dropped === 0));
  assert.equal(readFileSync(path, 'utf8'), before);
  const ls = parseStudy({ ...config(12, 400), model: { kind: 'softmax-gaussian', truth: { components: [{ bias: 0, beta: [1], a: [1], b: 0, nu: 0.1 }] }, k: 2 }, protocols: undefined, estimator: { maxIterations: 12 } });
  field(() => recapStudy(ls, a, { fromCap: 12 }), 'model.kind');
});
