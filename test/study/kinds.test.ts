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

test('Gaussian gates: a translation of the gate means absorbed by the biases has one canonical form', async () => {
  const { canonicalGaussianGates } = await import('../../src/study/kinds/gaussian-prompt.js');
  const s = 0.5;
  const d = 2;
  const c = [Float64Array.of(0.3, -0.2), Float64Array.of(-0.1, 0.4), Float64Array.of(0.5, 0.5)];
  const b = [0.1, -0.3, 0.2];
  const t = [0.7, -1.1];
  const g1 = { atoms: c.map((cj, j) => ({ weight: Math.exp(b[j] as number), params: { c: cj } })) };
  // c_j + t with b_j + c_j . t / s^2 - 5: the same gates for every z.
  const g2 = {
    atoms: c.map((cj, j) => ({
      weight: Math.exp((b[j] as number) + ((cj[0] as number) * (t[0] as number) + (cj[1] as number) * (t[1] as number)) / (s * s) - 5),
      params: { c: Float64Array.from(cj, (v, k) => v + (t[k] as number)) },
    })),
  };
  const a = canonicalGaussianGates(g1, s, d);
  const z = canonicalGaussianGates(g2, s, d);
  let sum = 0;
  const mean = [0, 0];
  a.atoms.forEach((atom, j) => {
    sum += atom.weight ?? 0;
    assert.ok(Math.abs((atom.weight ?? 0) - (z.atoms[j]?.weight ?? 0)) < 1e-10);
    for (let k = 0; k < d; k++) {
      assert.ok(Math.abs((atom.params.c?.[k] ?? 0) - (z.atoms[j]?.params.c?.[k] ?? 0)) < 1e-10);
      mean[k] = (mean[k] as number) + (atom.weight ?? 0) * (atom.params.c?.[k] ?? 0);
    }
  });
  assert.ok(Math.abs(sum - 1) < 1e-12);
  assert.ok(Math.abs(mean[0] as number) < 1e-10 && Math.abs(mean[1] as number) < 1e-10);
});

test('Gaussian gates: a fit whose weight overflowed still has a finite canonical form', async () => {
  const { canonicalGaussianGates } = await import('../../src/study/kinds/gaussian-prompt.js');
  const g = { atoms: [{ weight: Infinity, params: { c: Float64Array.of(120, -80) } }, { weight: 0, params: { c: Float64Array.of(0.1, 0.2) } }, { weight: 1, params: { c: Float64Array.of(-0.3, 0.1) } }] };
  const a = canonicalGaussianGates(g, 0.5, 2);
  for (const atom of a.atoms) {
    assert.ok(Number.isFinite(atom.weight as number), String(atom.weight));
    for (const v of atom.params.c ?? []) assert.ok(Number.isFinite(v));
  }
  assert.ok(Math.abs(a.atoms.reduce((s, x) => s + (x.weight as number), 0) - 1) < 1e-12);
});
