import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStudy } from '../../src/study/schema.js';
import { runStudy, readResults } from '../../src/study/runner.js';
import { rateTable, renderRateTable } from '../../src/study/rates-table.js';
import { main } from '../../src/cli/main.js';
import { InputError } from '../../src/util/errors.js';

const config = {
  name: 'mean-rate',
  seed: 3,
  n: { from: 50, to: 5000, count: 5 },
  replications: 6,
  model: { kind: 'mean', dim: 3 },
  loss: 'l2',
  variants: [{ name: 'mean' }],
  claims: [{ variants: ['mean'], rate: 'n^-1/2', slope: -0.5 }],
  quick: { n: [50, 500], replications: 3 },
};

test('rates: the sample mean shows its n^-1/2 rate, and the claim is judged consistent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pe-rates-'));
  const study = parseStudy(config);
  const s = await runStudy(study, dir, { workers: 0, quiet: true });
  const t = rateTable(study, readResults(s.resultsPath), { quick: false, results: s.resultsPath, level: 0.95, bootstrap: 500, allLosses: true });
  const main1 = t.rows.find((r) => r.main);
  assert.ok(main1 !== undefined);
  assert.ok(Math.abs(main1.slope + 0.5) < 0.15, `slope ${main1.slope}`);
  assert.equal(main1.verdict, 'consistent');
  assert.equal(main1.perN.length, 5);
  assert.deepEqual(t.rows.map((r) => r.loss).sort(), ['l2', 'linf']);
  assert.match(renderRateTable(t), /mean\s+l2/);
});

test('claims with a form are judged against the slope the form implies; null means slower than any power', () => {
  const study = parseStudy({
    ...config,
    claims: [{ variants: ['mean'], rate: 'sqrt(log n / n)', slope: -0.5, form: { kind: 'logpower', gamma: 0.5 } }],
  });
  const lines = [100, 1000, 10000].flatMap((n) =>
    [0, 1, 2].map((rep) => ({ variant: 'mean', n, rep, seed: 1, loss: Math.sqrt(Math.log(n) / n) * (1 + 0.01 * rep), losses: {}, iterations: 1, converged: true, objective: 0, restarts: 1, seconds: 0, cellSeconds: 0, configHash: 'x' })),
  );
  const t = rateTable(study, lines, { quick: false, results: 'r', level: 0.95, bootstrap: 200, allLosses: false });
  const row = t.rows[0];
  assert.ok(row !== undefined && row.claimedSlope !== null);
  assert.ok(row.claimedSlope > -0.5 && row.claimedSlope < -0.4, String(row.claimedSlope));
  assert.equal(row.verdict, 'consistent');
  assert.ok(Math.abs(row.gamma - 0.5) < 0.02);
  assert.throws(() => parseStudy({ ...config, claims: [{ variants: ['mean'], rate: 'x', slope: -1, form: { kind: 'cubic' } }] }), (e: unknown) => e instanceof InputError && e.field.startsWith('claims[0].form'));
});

test('rates CLI: missing results and bad flags exit 2 naming the problem', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pe-rates-cli-'));
  mkdirSync(join(dir, 's'));
  writeFileSync(join(dir, 's', 'study.json'), JSON.stringify(config));
  const err: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    assert.equal(await main(['rates', join(dir, 's')]), 2);
    assert.equal(await main(['rates', join(dir, 's'), '--level', '2']), 2);
    assert.equal(await main(['simulate', join(dir, 's', 'study.json'), '--shard', '5/2']), 2);
  } finally {
    process.stderr.write = write;
  }
  assert.match(err[0] ?? '', /results\.jsonl: expected a results file/);
  assert.match(err[2] ?? '', /--shard/);
});
