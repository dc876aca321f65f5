import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStudy } from '../../src/study/schema.js';
import { runStudy, readResults } from '../../src/study/runner.js';
import { InputError } from '../../src/util/errors.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'pe-kinds-'));

test('every built-in kind runs a cell and reports its losses and diagnostics', async () => {
  const study = parseStudy({
    name: 'kinds',
    seed: 9,
    n: [300],
    replications: 1,
    loss: 'loss',
    variants: [
      { name: 'vapt over', model: { kind: 'prompt-mixture', prompt: 'vapt', L: 3 } },
      { name: 'vpt exact', model: { kind: 'prompt-mixture', prompt: 'vpt', L: 2 } },
      { name: 'kv exact', model: { kind: 'prompt-mixture', prompt: 'kv', L: 2 } },
      { name: 'gaussian vapt', model: { kind: 'prompt-mixture', prompt: 'vapt', gate: 'gaussian', L: 2 } },
      { name: 'gaussian vpt over', model: { kind: 'prompt-mixture', prompt: 'vpt', gate: 'gaussian', L: 3 } },
      { name: 'k=4', model: { kind: 'gaussian-gated', truth: 'published-type-I', k: 4 }, estimator: { protocol: 'as-published' } },
    ],
  });
  // The main loss name differs between kinds; run each variant with its own study loss.
  for (const v of study.variants) {
    const loss = v.model?.kind === 'gaussian-gated' ? 'typeI' : 'D1';
    const one = { ...study, loss, variants: [v] };
    const s = await runStudy(one, dir(), { workers: 0, quiet: true });
    const [line] = readResults(s.resultsPath);
    assert.ok(line !== undefined, v.name);
    assert.ok(Number.isFinite(line.loss) && line.loss > 0, `${v.name}: loss ${line.loss}`);
    assert.equal(line.loss, line.losses[loss]);
    assert.ok(line.iterations >= 1 && line.restarts >= 1 && line.estimate !== undefined && line.estimate.length >= 2, v.name);
  }
});

test('kind configs are checked with errors naming the field', async () => {
  const base = { name: 'k', seed: 1, n: [100], replications: 1, loss: 'D1' };
  const bad = async (variant: Record<string, unknown>, field: string): Promise<void> => {
    await assert.rejects(runStudy(parseStudy({ ...base, variants: [{ name: 'v', ...variant }] }), dir(), { workers: 0, quiet: true }), (e: unknown) => e instanceof InputError && e.field === field, field);
  };
  await bad({ model: { kind: 'prompt-mixture', prompt: 'vpt', L: 1, Lstar: 2 } }, 'variants[0].model.L');
  await bad({ model: { kind: 'prompt-mixture', prompt: 'lora', L: 2 } }, 'variants[0].model.prompt');
  await bad({ model: { kind: 'prompt-mixture', prompt: 'vpt', L: 2 }, estimator: { starts: 0 } }, 'variants[0].estimator.starts');
  await bad({ model: { kind: 'gaussian-gated', truth: 'published-type-I', k: 2 }, estimator: { protocol: 'converged' } }, 'variants[0].model.k');
  await bad({ model: { kind: 'gaussian-gated', truth: 'published-type-I', k: 4 }, estimator: { protocol: 'once' } }, 'variants[0].estimator.protocol');
});
