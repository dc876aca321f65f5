/**
 * The simulation-against-ViT comparison: agreement of intervals, the markdown table, and the
 * pairing of the ViT's slope lines with the simulation's rows on a tiny synthetic repository.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agreementOf, escapedRow, simVsVitMarkdown, type SimVsVitRow } from '../../src/figures/sim-vs-vit-data.js';

test('escaped rows: atoms-multi with at least half of the ViT fits escaped is no rate; other losses and fewer escapes are judged', () => {
  assert.equal(escapedRow('atoms-multi', { escaped: 3, fits: 6 }), true);
  assert.equal(escapedRow('atoms-multi', { escaped: 2, fits: 6 }), false);
  assert.equal(escapedRow('atoms-single', { escaped: 6, fits: 6 }), false);
  assert.equal(escapedRow('atoms-multi', null), false);
});

test('agreement: overlap with either simulation interval, else steeper / flatter / between', () => {
  assert.equal(agreementOf([-0.6, -0.4], [[-0.55, -0.45]]), 'overlap');
  assert.equal(agreementOf([-0.6, -0.5], [[-0.45, -0.4], [-0.52, -0.3]]), 'overlap');
  assert.equal(agreementOf([-0.9, -0.7], [[-0.55, -0.45], [-0.6, -0.5]]), 'ViT steeper');
  assert.equal(agreementOf([-0.2, -0.1], [[-0.55, -0.45], [-0.6, -0.5]]), 'ViT flatter');
  assert.equal(agreementOf([-0.45, -0.4], [[-0.3, -0.2], [-0.6, -0.5]]), 'between');
  assert.equal(agreementOf([-0.45, -0.4], []), null);
});

test('the markdown table has one row per comparison, says "not run" for a missing side and "none of K fits" when no fit stopped by tolerance', () => {
  const row = (over: Partial<SimVsVitRow>): SimVsVitRow => ({
    form: 'vapt', regime: 'over', loss: 'atoms-multi', variant: 'vapt over [fixed]',
    sim: { slope: -0.2, ci: [-0.25, -0.15], nMin: 100, nMax: 1e6, fits: 180 }, simLow: { slope: -0.3, ci: [-0.4, -0.2], nMax: 10000 },
    vitConverged: null, vitAll: { slope: -0.14, ci: [-0.49, 0.33], points: 15, ns: [100, 316, 1000], capShare: {} }, vitEscaped: { escaped: 0, fits: 15 }, agreement: 'overlap',
    claims: [{ rate: '(log(n)/n)^(1/4)', own: true, implied: -0.2, verdict: 'consistent' }, { rate: '1/log(n)^tau', own: false, implied: -0.18, verdict: 'consistent' }], ...over,
  });
  const md = simVsVitMarkdown([
    row({}),
    row({ form: 'kv', variant: 'kv over [fixed]', vitAll: null, vitEscaped: null, agreement: null, claims: [] }),
    row({ form: 'vpt-deep', variant: 'vpt over [fixed]', vitEscaped: { escaped: 15, fits: 15 }, agreement: 'no rate (escaped)', claims: [] }),
  ]).split('\n');
  assert.equal(md.length, 5);
  assert.match(md[4] as string, /\| no rate \(escaped\) \| not judged: surplus atom escaped in 15 of 15 ViT fits \|$/);
  assert.match(md[2] as string, /^\| vapt \| over \| atoms-multi \| none of 15 fits \| -0\.140 \[-0\.490, 0\.330\] \(15 fits, n = 100\.\.1000\) \| -0\.200 \[-0\.250, -0\.150\] \(n = 100\.\.1000000\) \| -0\.300 \[-0\.400, -0\.200\] \(n <= 10000\) \| overlap \| \(log\(n\)\/n\)\^\(1\/4\): -0\.200, consistent; other: 1\/log\(n\)\^tau: -0\.180, consistent \|$/);
  assert.match(md[3] as string, /^\| kv \| over \| atoms-multi \| not run \| not run \|.*\| - \| - \|$/);
});

test('the catalog figure and the table read the same ViT slope lines (all fits, per regime and loss)', async () => {
  const { simVsVitComparison } = await import('../../src/figures/sim-vs-vit-data.js');
  const here = new URL('../../../', import.meta.url);
  // A copy of the repository's simulation study, and a ViT file with two slope lines.
  const root = mkdtempSync(join(tmpdir(), 'svv-'));
  mkdirSync(join(root, 'experiments/vpt-vs-vapt'), { recursive: true });
  mkdirSync(join(root, 'experiments/vit-planted-layer'), { recursive: true });
  for (const f of ['study.json', 'results.jsonl']) writeFileSync(join(root, 'experiments/vpt-vs-vapt', f), readFileSync(new URL(`experiments/vpt-vs-vapt/${f}`, here)));
  const line = (fits: string, slope: number): string => JSON.stringify({ kind: 'slope', form: 'vapt', regime: 'over', loss: 'atoms-multi', fits, slope, ci: [slope - 0.1, slope + 0.1], points: 15, ns: [100, 1000], capShare: { 100: 0, 1000: 0 } });
  // Two VAPT over fits (none escaped) and two VPT-deep over fits (both escaped) with a slope line.
  const fit = (form: string, escaped: boolean): string => JSON.stringify({ kind: 'fit', form, regime: 'over', escaped });
  const vptLine = JSON.stringify({ kind: 'slope', form: 'vpt-deep', regime: 'over', loss: 'atoms-multi', fits: 'all', slope: -3, ci: [-4, -2], points: 2, ns: [100, 1000], capShare: {} });
  // A weight-floored VPT-deep student (not escaped) pairs with the simulation's "vpt over floor" variant.
  const floorFit = JSON.stringify({ kind: 'fit', form: 'vpt-deep', regime: 'over-floor', escaped: false });
  const floorLine = JSON.stringify({ kind: 'slope', form: 'vpt-deep', regime: 'over-floor', loss: 'atoms-multi', fits: 'all', slope: -0.3, ci: [-0.4, -0.2], points: 2, ns: [100, 1000], capShare: {} });
  writeFileSync(join(root, 'experiments/vit-planted-layer/results.jsonl'), `${[fit('vapt', false), fit('vapt', false), fit('vpt-deep', true), fit('vpt-deep', true), floorFit].join('\n')}\n${line('converged', -5)}\n${line('all', -0.25)}\n${vptLine}\n${floorLine}\n`);
  const rows = simVsVitComparison(root, 200);
  assert.equal(rows.length, 15, '3 forms x (exact atoms-single; over and over-floor, atoms-multi and atoms-single)');
  const floored = rows.find((x) => x.form === 'vpt-deep' && x.regime === 'over-floor' && x.loss === 'atoms-multi') as SimVsVitRow;
  assert.equal(floored.variant, 'vpt over floor [fixed]');
  assert.ok(floored.sim !== null, 'the simulation has floored rows');
  assert.deepEqual(floored.claims.map((c) => [c.rate, c.own]), [['1/log(n)^tau', true], ['(log(n)/n)^(1/4)', false]]);
  assert.deepEqual(floored.vitEscaped, { escaped: 0, fits: 1 });
  const r = rows.find((x) => x.form === 'vapt' && x.regime === 'over' && x.loss === 'atoms-multi') as SimVsVitRow;
  assert.equal(r.variant, 'vapt over [fixed]');
  assert.equal(r.vitAll?.slope, -0.25);
  assert.equal(r.vitConverged?.slope, -5);
  assert.ok(r.sim !== null && r.sim.nMax === 1e6 && r.simLow !== null);
  // Judged on all fits, not on the (absurd) converged line.
  assert.equal(r.agreement, agreementOf([-0.35, -0.15], [r.sim.ci, r.simLow.ci]));
  assert.equal(rows.filter((x) => x.vitAll !== null).length, 3);
  assert.deepEqual(r.vitEscaped, { escaped: 0, fits: 2 });
  const vpt = rows.find((x) => x.form === 'vpt-deep' && x.regime === 'over' && x.loss === 'atoms-multi') as SimVsVitRow;
  assert.equal(vpt.agreement, 'no rate (escaped)');
  assert.deepEqual(vpt.claims, []);
  // The study's claims about (vapt over, atoms-multi), at the slopes they imply over the ViT's n = 100, 1000.
  const { compileRate, impliedSlope } = await import('../../src/rates/claim.js');
  const implied = impliedSlope(compileRate('(log(n)/n)^(1/4)'), [{ n: 100 }, { n: 1000 }]);
  // Its own claim first, then the other over-specified claim about atoms-multi (VPT's and prefix's).
  assert.deepEqual(r.claims.map((c) => [c.rate, c.own]), [['(log(n)/n)^(1/4)', true], ['1/log(n)^tau', false]]);
  assert.ok(Math.abs((r.claims[0]?.implied ?? NaN) - implied) < 1e-12);
  assert.equal(r.claims[0]?.verdict, implied < -0.35 ? 'slower' : implied > -0.15 ? 'faster' : 'consistent');
  assert.ok(Math.abs((r.claims[1]?.implied ?? NaN) - impliedSlope(compileRate('1/log(n)'), [{ n: 100 }, { n: 1000 }])) < 1e-12);
  assert.deepEqual(rows.find((x) => x.form === 'vapt' && x.regime === 'exact')?.claims, []);
});
