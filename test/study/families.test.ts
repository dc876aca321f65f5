import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseStudy } from '../../src/study/schema.js';
import { runStudy, readResults, loadStudy } from '../../src/study/runner.js';
import { getKind } from '../../src/study/registry.js';
import { InputError } from '../../src/util/errors.js';
import { makeRng } from '../../src/util/rng.js';
import { GENERIC_LOSSES } from '../../src/study/generic-losses.js';
import { main } from '../../src/cli/main.js';
import '../../src/study/kinds/index.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'pe-families-'));

const tanhTruth = { components: [{ bias: 0.3, beta: [1.5], W: [2], c: [0.5] }, { bias: -0.2, beta: [-1], W: [-1.5], c: [-0.5] }] };
const variants: { loss: string; v: Record<string, unknown> }[] = [
  { loss: 'D1', v: { name: 'softmax-moe tanh exact', model: { kind: 'softmax-moe', expert: 'tanh', truth: tanhTruth, k: 2 } } },
  { loss: 'D1', v: { name: 'softmax-moe linear d=2 seeded over', model: { kind: 'softmax-moe', d: 2, expert: 'linear', truth: { seed: 3, k: 2 }, k: 3, design: { kind: 'uniform' } } } },
  { loss: 'D1', v: { name: 'softmax-moe mlp gelu', model: { kind: 'softmax-moe', expert: { kind: 'mlp', activation: 'gelu', hidden: 2 }, truth: { seed: 4, k: 2 }, k: 2 } } },
  {
    loss: 'D2',
    v: {
      name: 'softmax-gaussian over',
      model: { kind: 'softmax-gaussian', truth: { components: [{ bias: 0, beta: [2], a: [1], b: 0.5, nu: 0.05 }, { bias: 0, beta: [-2], a: [-1], b: -0.5, nu: 0.05 }] }, k: 3 },
      estimator: { maxIterations: 50 },
    },
  },
  {
    loss: 'merged-D2',
    v: {
      name: 'softmax-gaussian over, near-experts start',
      model: { kind: 'softmax-gaussian', truth: { components: [{ bias: 0, beta: [2], a: [1], b: 0.5, nu: 0.05 }, { bias: 0, beta: [-2], a: [-1], b: -0.5, nu: 0.05 }] }, k: 4 },
      estimator: { init: 'near-experts', initScale: 0.05, initRate: 0.083, nuStart: [0.2, 0.3], nuScale: 0.001, nuRate: 0.25, maxIterations: 50 },
    },
  },
  { loss: 'D2', v: { name: 'softmax-gaussian d=2 seeded fixed', model: { kind: 'softmax-gaussian', d: 2, truth: { seed: 5, k: 2 }, k: 2, design: { kind: 'fixed-draw', seed: 9 } }, estimator: { maxIterations: 50 } } },
  {
    loss: 'D1',
    v: {
      name: 'contaminated softmax',
      model: { kind: 'contaminated', frozen: [{ expert: 'linear', params: { A: [0.5], a: [0] } }], expert: 'tanh', truth: { components: [{ bias: 0.5, beta: [1], W: [2], c: [0.3] }] }, L: 1 },
    },
  },
  {
    loss: 'D1',
    v: {
      name: 'contaminated sigmoid relu d=2 over',
      model: { kind: 'contaminated', d: 2, gate: 'sigmoid', frozen: [{ expert: 'gelu', params: { W: [1, -1], c: [0] }, bias: -1, beta: [0.5, 0] }], expert: 'relu', truth: { seed: 6, k: 1 }, L: 2, design: { kind: 'uniform', low: -2, high: 2 } },
    },
  },
  { loss: 'typeII', v: { name: 'gaussian-gated type II components', model: { kind: 'gaussian-gated', k: 3, truth: { components: [{ pi: 0.5, c: 0, Gamma: 0.04, A: 0.5, b: 0.2, nu: 0.01 }, { pi: 0.5, c: 0.6, Gamma: 0.02, A: -0.7, b: -0.3, nu: 0.02 }] } }, estimator: { protocol: 'converged', maxIterations: 50 } } },
  { loss: 'typeI', v: { name: 'gaussian-gated d=2 seeded', model: { kind: 'gaussian-gated', k: 2, truth: { seed: 8, k: 2, d: 2 } }, estimator: { protocol: 'as-published' } } },
];

test('every new family kind builds, simulates and fits a tiny study, with its losses in every line', async () => {
  for (const { loss, v } of variants) {
    const study = parseStudy({ name: 'families', seed: 13, n: [400], replications: 1, loss, variants: [v] });
    const s = await runStudy(study, dir(), { workers: 0, quiet: true });
    assert.equal(s.failed, 0, String(v.name));
    const [line] = readResults(s.resultsPath);
    assert.ok(line !== undefined, String(v.name));
    assert.ok(Number.isFinite(line.loss) && line.loss > 0, `${String(v.name)}: loss ${line.loss}`);
    assert.equal(line.loss, line.losses[loss]);
    const kind = getKind((v.model as { kind: string }).kind, 'v');
    for (const name of kind.lossNames ?? []) assert.ok(Number.isFinite(line.losses[name]), `${String(v.name)}: ${name}`);
    assert.ok(line.iterations >= 1 && line.estimate !== undefined && line.estimate.length >= 1, String(v.name));
  }
});

test('a fit near the truth at large n is closer than at small n (softmax-moe, contaminated)', async () => {
  for (const entry of [variants[0], variants[6]]) {
    const v = entry?.v ?? {};
    const study = parseStudy({ name: 'rate', seed: 21, n: [200, 20000], replications: 3, loss: 'D1', variants: [v] });
    const s = await runStudy(study, dir(), { workers: 0, quiet: true });
    const lines = readResults(s.resultsPath);
    const mean = (n: number): number => lines.filter((l) => l.n === n).reduce((a, l) => a + l.loss, 0) / 3;
    assert.ok(mean(20000) < mean(200) / 3, `${String(v.name)}: ${mean(200)} -> ${mean(20000)}`);
  }
});

test('loss names are validated with the config, before any cell runs', async () => {
  const d = dir();
  const base = { name: 'bad-loss', seed: 1, n: [100], replications: 1, variants: [{ name: 'g', model: { kind: 'gaussian-gated', truth: 'published-type-I', k: 4 }, estimator: { protocol: 'as-published' } }] };
  await assert.rejects(runStudy(parseStudy({ ...base, loss: 'D1' }), d, { workers: 0, quiet: true }), (e: unknown) => e instanceof InputError && e.field === 'loss' && /typeI, typeII, weights/.test(e.message) && e.message.includes(GENERIC_LOSSES[0]));
  assert.ok(!existsSync(join(d, 'results.jsonl')) && !existsSync(join(d, 'run.json')), 'nothing written before the check');
  // typeII is a loss of the kind now, and the generic per-atom losses are valid names for every kind.
  const kind = getKind('gaussian-gated', 'v');
  assert.ok(kind.lossNames?.includes('typeII'));
  await assert.rejects(
    runStudy(parseStudy({ ...base, loss: 'typeI', claims: [{ variants: ['g'], loss: 'l2', rate: 'n^-1/2', slope: -0.5 }] }), d, { workers: 0, quiet: true }),
    (e: unknown) => e instanceof InputError && e.field === 'claims[0].loss',
  );
  // From the CLI: exit 2, the field named.
  const sd = dir();
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(sd, 'study.json'), JSON.stringify({ ...base, loss: 'nope' }));
  const err: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    assert.equal(await main(['simulate', join(sd, 'study.json'), '--workers', '0', '--quiet']), 2);
  } finally {
    process.stderr.write = write;
  }
  assert.match(err.join(''), /simulate: loss: expected a loss the gaussian-gated model .* one of typeI, typeII, weights/);
});

test('fixed designs give identical inputs in every replication; random designs do not', () => {
  const mk = (design: Record<string, unknown>): ReturnType<ReturnType<typeof getKind>['build']> =>
    getKind('softmax-moe', 'v').build({ kind: 'softmax-moe', truth: tanhTruth, k: 2, design }, {}, 'v');
  for (const design of [{ kind: 'linspace', low: -2, high: 2 }, { kind: 'fixed-draw', seed: 5 }, { kind: 'fixed-draw', seed: 5, from: 'uniform' }, { kind: 'points', points: [[0], [1], [-1]] }]) {
    const m = mk(design);
    const a = m.simulate(50, makeRng(1)).samples;
    const b = m.simulate(50, makeRng(2)).samples;
    assert.deepEqual(Array.from(a.X), Array.from(b.X), JSON.stringify(design));
    assert.notDeepEqual(Array.from(a.Y), Array.from(b.Y), 'noise differs across replications');
    // Nested in n: the design of size 20 is the first 20 points of the design of size 50 (except linspace).
    if (design.kind !== 'linspace') assert.deepEqual(Array.from(m.simulate(20, makeRng(3)).samples.X), Array.from(a.X.subarray(0, 20)));
  }
  const lin = mk({ kind: 'linspace', low: -2, high: 2 }).simulate(5, makeRng(1)).samples.X;
  assert.deepEqual(Array.from(lin), [-2, -1, 0, 1, 2]);
  const r = mk({ kind: 'gaussian' });
  assert.notDeepEqual(Array.from(r.simulate(50, makeRng(1)).samples.X), Array.from(r.simulate(50, makeRng(2)).samples.X));
  assert.throws(() => getKind('softmax-moe', 'v').build({ kind: 'softmax-moe', d: 2, truth: { seed: 1, k: 1 }, k: 1, design: { kind: 'linspace' } }, {}, 'variants[0]'), (e: unknown) => e instanceof InputError && e.field === 'variants[0].model.design.kind');
});

test('truth and frozen-expert configs are checked with errors naming the field', () => {
  const bad = (kind: string, model: Record<string, unknown>, field: string): void =>
    assert.throws(() => getKind(kind, 'variants[0]').build({ kind, ...model }, kind === 'gaussian-gated' ? { protocol: 'converged' } : {}, 'variants[0]'), (e: unknown) => e instanceof InputError && e.field === field, field);
  bad('softmax-moe', { truth: { components: [{ beta: [1], W: [1, 2], c: [0] }] }, k: 1 }, 'variants[0].model.truth.components[0].W');
  bad('softmax-moe', { truth: { components: [{ beta: [1], W: [1], c: [0], V: [1] }] }, k: 1 }, 'variants[0].model.truth.components[0].V');
  bad('softmax-moe', { truth: { seed: 1, k: 3 }, k: 2 }, 'variants[0].model.k');
  bad('contaminated', { frozen: [{ expert: 'tanh', params: { W: [1] } }], truth: { seed: 1, k: 1 }, L: 1 }, 'variants[0].model.frozen[0].params.c');
  bad('contaminated', { frozen: [], truth: { seed: 1, k: 1 }, L: 1 }, 'variants[0].model.frozen');
  bad('softmax-gaussian', { truth: { components: [{ beta: [1], a: [1], b: 0, nu: -1 }] }, k: 1 }, 'variants[0].model.truth.nu[0]');
  const sg = { kind: 'softmax-gaussian', truth: { components: [{ beta: [1], a: [1], b: 0, nu: 1 }, { beta: [0], a: [0], b: 1, nu: 1 }] }, k: 3 };
  for (const [estimator, field] of [[{ init: 'near-experts', nuStart: [1] }, 'variants[0].estimator.nuStart'], [{ nuStart: [1, 1] }, 'variants[0].estimator.nuStart'], [{ init: 'official' }, 'variants[0].estimator.init']] as const)
    assert.throws(() => getKind('softmax-gaussian', 'variants[0]').build(sg, estimator, 'variants[0]'), (e: unknown) => e instanceof InputError && e.field === field, field);
  bad('gaussian-gated', { truth: { components: [{ pi: 1, c: [0, 0], Gamma: [[1, 0], [0, 1]], A: [1], b: 0, nu: 1 }] }, k: 1 }, 'variants[0].model.truth.A[0]');
});

test('a plugin kind registers in every worker thread: the example plugin runs on two workers and gives the in-process lines', async () => {
  const studyDir = resolve('experiments/plugin-example');
  const study = { ...loadStudy(join(studyDir, 'study.json')), n: [50, 200], replications: 3 };
  const a = await runStudy(study, dir(), { workers: 2, quiet: true, studyDir });
  assert.equal(a.ran, 6);
  assert.equal(a.failed, 0);
  const b = await runStudy(study, dir(), { workers: 0, quiet: true, studyDir });
  const strip = (ls: ReturnType<typeof readResults>): string[] => ls.map((l) => JSON.stringify([l.variant, l.n, l.rep, l.loss, l.losses])).sort();
  assert.deepEqual(strip(readResults(a.resultsPath)), strip(readResults(b.resultsPath)));
  assert.ok(readResults(a.resultsPath).every((l) => l.losses.slope !== undefined));
  await assert.rejects(runStudy({ ...study, plugins: ['./missing.js'] }, dir(), { workers: 0, quiet: true, studyDir }), (e: unknown) => e instanceof InputError && e.field === 'plugins[0]');
});

test('prompt-experts kinds lists every kind with its fields, defaults, estimators and losses', async () => {
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  try {
    assert.equal(await main(['kinds', '--json']), 0);
  } finally {
    process.stdout.write = write;
  }
  const docs = JSON.parse(out.join('')) as { kind: string; model: { name: string; default?: unknown }[]; losses: string[]; estimators: string[] }[];
  for (const k of ['mean', 'gaussian-gated', 'prompt-mixture', 'softmax-moe', 'softmax-gaussian', 'contaminated']) assert.ok(docs.some((d) => d.kind === k), k);
  const c = docs.find((d) => d.kind === 'contaminated');
  assert.ok(c !== undefined && c.model.some((f) => f.name === 'gate' && f.default === 'softmax') && c.losses.includes('D1') && c.estimators.includes('least-squares'));
  assert.ok(docs.find((d) => d.kind === 'gaussian-gated')?.losses.includes('typeII'));
});
