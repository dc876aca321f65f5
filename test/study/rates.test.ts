import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStudy } from '../../src/study/schema.js';
import { runStudy, readResults } from '../../src/study/runner.js';
import { rateTable, renderRateTable } from '../../src/study/rates-table.js';
import type { ResultLine } from '../../src/study/cell.js';
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
  assert.deepEqual(t.rows.map((r) => r.loss).sort(), ['atoms-single', 'l2', 'linf']);
  assert.match(renderRateTable(t), /mean\s+l2/);
});

test('claims with a form are judged against the slope the form implies; null means slower than any power', () => {
  const study = parseStudy({
    ...config,
    n: [100, 1000, 10000],
    replications: 3,
    claims: [{ variants: ['mean'], rate: 'sqrt(log n / n)', slope: -0.5, form: { kind: 'logpower', gamma: 0.5 } }],
  });
  const lines = [100, 1000, 10000].flatMap((n) =>
    [0, 1, 2].map((rep) => ({ variant: 'mean', n, rep, seed: 1, loss: Math.sqrt(Math.log(n) / n) * (1 + 0.01 * rep), losses: {}, iterations: 1, converged: true, objective: 0, restarts: 1, seconds: 0, cellSeconds: 0, configHash: 'x' })),
  );
  const t = rateTable(study, lines, { quick: false, results: 'r', level: 0.95, bootstrap: 200, allLosses: false, checkConfig: false });
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

// Synthetic lines for the rate-table rules: loss = C n^slope (1 + small spread).
function synth(variant: string, ns: number[], reps: number, slope: number, extra: Partial<ResultLine> = {}): ResultLine[] {
  return ns.flatMap((n) =>
    Array.from({ length: reps }, (_, rep) => ({ variant, n, rep, seed: 1, loss: Math.pow(n, slope) * (1 + 0.02 * rep), losses: {}, iterations: 1, converged: true, objective: 0, restarts: 1, seconds: 0, cellSeconds: 0, configHash: 'x', ...extra })),
  );
}
const grid = { ...config, n: [100, 1000, 10000], replications: 3 };
const opts = { quick: false, results: 'r.jsonl', level: 0.95, bootstrap: 200, allLosses: false, checkConfig: false } as const;

test('rates: a duplicate (variant, n, rep) is an error naming both lines; --drop-duplicates keeps the first and counts', () => {
  const study = parseStudy(grid);
  const lines = [...synth('mean', [100, 1000, 10000], 3, -0.5), ...synth('mean', [1000], 1, -0.5)];
  assert.throws(() => rateTable(study, lines, opts), (e: unknown) => e instanceof InputError && e.field === 'r.jsonl:10' && /first on line 4/.test(e.message));
  const t = rateTable(study, lines, { ...opts, dropDuplicates: true });
  assert.equal(t.ignored.duplicates, 1);
  assert.equal(t.used, 9);
});

test('rates: lines outside the grid or of other variants are counted, not used; no fittable row is an error', () => {
  const study = parseStudy(grid);
  const t = rateTable(study, [...synth('mean', [100, 1000, 10000], 3, -0.5), ...synth('mean', [555], 2, -0.5), ...synth('other', [100, 1000], 1, -0.5), ...synth('mean', [100], 1, -0.5, { rep: 7 })], opts);
  assert.deepEqual(t.ignored, { otherVariant: 2, staleConfig: 0, outOfGrid: 3, duplicates: 0 });
  assert.equal(t.rows[0]?.fits, 9);
  assert.match(renderRateTable(t), /9 lines used .* 2 of variants not in the study, 3 outside/);
  assert.throws(() => rateTable(study, synth('mean', [100], 3, -0.5), opts), (e: unknown) => e instanceof InputError && e.field === 'r.jsonl');
  assert.throws(() => rateTable(study, [], opts), (e: unknown) => e instanceof InputError);
});

test('rates: expression claims are judged at their implied slope; a row with fits at the cap is unreliable', () => {
  const study = parseStudy({ ...grid, claims: [
    { variants: ['mean'], rate: 'n^(-1/2)', source: 'test' },
    { variants: [], rate: '1/log(n)^tau', constants: { tau: 1 } },
  ].map((c) => (c.variants.length === 0 ? { ...c, variants: ['mean'], loss: 'other' } : c)) });
  const t = rateTable(study, synth('mean', [100, 1000, 10000], 3, -0.5), opts);
  const row = t.rows[0];
  assert.equal(row?.verdict, 'consistent');
  assert.ok(Math.abs((row?.claimedSlope as number) + 0.5) < 1e-12);
  assert.deepEqual(row?.localSlopes?.map((x) => Number(x.toFixed(12))), [-0.5, -0.5]);
  const capped = synth('mean', [100, 1000, 10000], 3, -0.5).map((l, i) => (i === 4 ? { ...l, atCap: true, converged: false } : l));
  const u = rateTable(study, capped, opts).rows[0];
  assert.equal(u?.verdict, 'unreliable (cap)');
  assert.equal(u?.slopeVerdict, 'consistent');
  assert.ok(Math.abs((u?.perN[1]?.atCap as number) - 1 / 3) < 1e-12);
  const other = parseStudy({ ...grid, claims: [{ variants: ['mean'], rate: 'n^(-1/2)' }, { variants: ['mean'], rate: '1/log(n)', loss: 'l2' }] });
  const alt = rateTable(other, synth('mean', [100, 1000, 10000], 3, -0.5), opts).rows[0];
  assert.equal(alt?.alternatives.length, 1); // both claims are about l2, the main loss
  assert.equal(alt?.alternatives[0]?.verdict, 'faster'); // n^-1/2 data fall faster than 1/log n
  assert.throws(() => parseStudy({ ...grid, claims: [{ variants: ['mean'], rate: 'n^(-a)' }] }), (e: unknown) => e instanceof InputError && e.field === 'claims[0].rate' && /unknown symbol "a"/.test(e.message));
  assert.throws(() => parseStudy({ ...grid, claims: [{ variants: ['mean'], rate: 'n^(' }] }), (e: unknown) => e instanceof InputError && e.field === 'claims[0].rate');
  assert.throws(() => parseStudy({ ...grid, claims: [{ variants: ['mean'], rate: '-n' }] }), (e: unknown) => e instanceof InputError && e.field === 'claims[0].rate');
});

test('rates: the bootstrap interval does not depend on the order of the lines', () => {
  const study = parseStudy(grid);
  const lines = synth('mean', [100, 1000, 10000], 3, -0.5).map((l, i) => ({ ...l, loss: l.loss * (1 + 0.1 * Math.sin(7 * i)) }));
  const a = rateTable(study, lines, opts).rows[0];
  const b = rateTable(study, [...lines].reverse(), opts).rows[0];
  assert.deepEqual(a?.ci, b?.ci);
});

test('rates: protocols give robust, protocol-dependent or unreliable (cap) verdicts per claimed (variant, loss)', () => {
  const study = parseStudy({
    ...grid,
    model: { kind: 'mean', dim: 1 },
    protocols: [{ name: 'a', estimator: {} }, { name: 'b', estimator: {} }],
    claims: [{ variants: ['mean'], rate: 'n^(-1/2)' }],
  });
  const agreement = (sb: number, capB = false): string | undefined =>
    rateTable(study, [...synth('mean [a]', [100, 1000, 10000], 3, -0.5), ...synth('mean [b]', [100, 1000, 10000], 3, sb).map((l) => (capB && l.n === 100 ? { ...l, atCap: true } : l))], opts).protocols[0]?.agreement;
  assert.equal(agreement(-0.5), 'robust');
  assert.equal(agreement(-1), 'protocol-dependent');
  assert.equal(agreement(-0.5, true), 'unreliable (cap)');
});

test('rates --healthy: fits with an atom switched off or escaped are left out and counted; --loss and --variant select rows', () => {
  const study = parseStudy(grid);
  const lines = synth('mean', [100, 1000, 10000], 3, -0.5).map((l, i) => (i % 3 === 0 ? { ...l, escaped: true } : l));
  const t = rateTable(study, lines, { ...opts, healthyOnly: true });
  assert.equal(t.rows[0]?.fits, 6);
  assert.equal(t.rows[0]?.unhealthyExcluded, 3);
  assert.match(renderRateTable(t), /healthy fits only: 3 fits/);
  assert.equal(rateTable(study, lines, opts).rows[0]?.escapedShare, 1 / 3);
  assert.throws(() => rateTable(study, lines, { ...opts, variants: ['nothing'] }), (e: unknown) => e instanceof InputError);
  assert.deepEqual(rateTable(study, lines.map((l) => ({ ...l, losses: { l2: l.loss, other: 2 * l.loss } })), { ...opts, losses: ['other'] }).rows.map((r) => r.loss), ['other']);
});

test('rates: the slopes over the lower and upper halves of n agree for a power rate and flatten for 1/log n', () => {
  const study = parseStudy({ ...grid, n: [100, 1000, 10000, 100000, 1000000] });
  const ns = [100, 1000, 10000, 100000, 1000000];
  const power = rateTable(study, synth('mean', ns, 3, -0.5), opts).rows[0]?.halves;
  assert.ok(power !== null && power !== undefined);
  assert.equal(power.low.nMax, 10000);
  assert.equal(power.high.nMin, 10000);
  assert.ok(Math.abs(power.low.slope + 0.5) < 0.01 && Math.abs(power.high.slope + 0.5) < 0.01);
  const slow = synth('mean', ns, 3, -0.5).map((l) => ({ ...l, loss: (1 + 0.02 * l.rep) / Math.log(l.n) }));
  const h = rateTable(study, slow, opts).rows[0]?.halves;
  assert.ok(h !== null && h !== undefined && h.high.slope > h.low.slope + 0.05, JSON.stringify(h));
});
