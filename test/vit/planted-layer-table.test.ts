/**
 * The planted-layer per-n table: grouping by (regime, form, n), medians and IQRs of the per-atom
 * losses (type 7 quantiles), health shares (muted only over the lines that recorded it), stop
 * counts and the worst objective ratio.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layerPerN, layerPerNMarkdown } from '../../src/vit/planted-layer-table.js';
import { quantileSorted } from '../../src/rates/quantile.js';
import type { LayerFitLine } from '../../src/vit/planted-layer-study.js';

const fit = (over: Partial<LayerFitLine>): LayerFitLine => ({
  kind: 'fit', study: 's', form: 'vapt', base: 'vapt', regime: 'over', L: 3, Lstar: 2, block: 1, n: 100, seed: 1,
  stopReason: 'tolerance', converged: true, atCap: false, steps: 10, evaluations: 20, trainObjective: 1e-4, noiseVar: 1e-4,
  gradientNorm: 1e-10, D1: 1, 'atoms-single': 0.1, 'atoms-multi': 1, cells: [2, 1], switchedOff: false, escaped: false,
  tunableParams: 20, seconds: 1, backend: 'cpu', device: 'cpu', finished: '', ...over,
});

test('type 7 sample quantiles', () => {
  assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantileSorted([1, 2, 3, 4], 0.25), 1.75);
  assert.equal(quantileSorted([7], 0.75), 7);
});

test('per-n rows: exact before over, forms in file order, n ascending; medians, shares, stops', () => {
  const fits = [
    fit({ n: 316, 'atoms-multi': 5 }),
    fit({ n: 100, 'atoms-multi': 1, seed: 1, escaped: true, stopReason: 'stalled', trainObjective: 1.02e-4, seconds: 3 }),
    fit({ n: 100, 'atoms-multi': 2, seed: 2, switchedOff: true, seconds: 1, muted: true }),
    fit({ n: 100, 'atoms-multi': 4, seed: 3, seconds: 2, muted: false }),
    fit({ n: 100, 'atoms-multi': 3, seed: 4, stopReason: 'cap', seconds: 4 }),
    fit({ form: 'vpt-deep', regime: 'exact', L: 2, n: 100, 'atoms-multi': undefined, 'atoms-single': 0.5 }),
  ];
  const rows = layerPerN(fits);
  assert.deepEqual(rows.map((r) => `${r.regime} ${r.form} ${r.n}`), ['exact vpt-deep 100', 'over vapt 100', 'over vapt 316']);
  const r = rows[1];
  assert.ok(r !== undefined);
  assert.equal(r.fits, 4);
  assert.deepEqual(r.atomsMulti, { median: 2.5, q1: 1.75, q3: 3.25 });
  assert.equal(r.escaped, 0.25);
  assert.equal(r.switchedOff, 0.25);
  assert.equal(r.muted, 0.5, 'muted over the two fits that recorded gate shares');
  assert.equal(rows[2]?.muted, null);
  assert.deepEqual(r.stops, { stalled: 1, tolerance: 2, cap: 1 });
  assert.ok(Math.abs(r.worstObjectiveRatio - 1.02) < 1e-12);
  assert.equal(r.medianSeconds, 2.5);
  assert.equal(rows[0]?.atomsMulti, null);
  const md = layerPerNMarkdown(rows).split('\n');
  assert.equal(md.length, 5);
  assert.equal(md[3], '| vapt | over | 100 | 4 | 0.100 [0.100, 0.100] | 2.50 [1.75, 3.25] | 25% | 25% | 50% | cap 1, stalled 1, tolerance 2 | 1.0200 | 2.5 |');
  assert.match(md[2] as string, /^\| vpt-deep \| exact \| 100 \| 1 \| 0\.500 \[0\.500, 0\.500\] \| - \|/);
});
