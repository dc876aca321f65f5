import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSpec, renderFigure, ratePlotSpec, sampleEfficiencySpec, simVsVitSpec, gateHeatmapSpec, gatePanels, colorOf, familyOf, styleSeries, CATALOG } from '../../src/figures/index.js';
import { makeRng } from '../../src/util/rng.js';

function ratePoints(seed: number) {
  const rng = makeRng(seed);
  const points = [];
  for (const series of ['vpt exact', 'vapt exact']) for (const n of [100, 1000, 10000]) for (let r = 0; r < 3; r++) points.push({ series, n, loss: n ** -0.5 * Math.exp(0.2 * rng.normal()) });
  return points;
}

test('every spec builder yields vega-lite that compiles to vega with data and marks', () => {
  const specs = [
    ratePlotSpec({ points: ratePoints(1), fits: [{ series: 'vpt exact', slope: -0.5, lo: -0.6, hi: -0.4 }], claims: [{ series: 'vpt exact', slope: -0.5 }] }),
    sampleEfficiencySpec({ points: [50, 200].flatMap((n) => ['vpt-deep', 'vapt'].map((method) => ({ method, task: 't', n, seed: 1, accuracy: 0.5 + n / 1000 }))) }),
    simVsVitSpec({ entries: [{ source: 'simulation', method: 'vapt exact', slope: -0.5, lo: -0.55, hi: -0.45 }], claims: [{ label: 'n^-1/2', slope: -0.5 }] }),
    gateHeatmapSpec({ panels: gatePanels({ seed: 3, tokens: 4, grid: [2, 2], width: 3, dk: 3, dv: 2, prompts: 2, kernel: 1, rank: 2, weightScale: 0.5, promptScale: 1 }) }),
  ];
  for (const spec of specs) {
    const vg = compileSpec(spec) as { data?: unknown[]; marks?: unknown[] };
    assert.ok(Array.isArray(vg.data) && vg.data.length > 0);
    assert.ok(Array.isArray(vg.marks) && vg.marks.length > 0);
  }
});

test('rendering the same spec twice gives identical SVG and PNG bytes', async () => {
  const spec = ratePlotSpec({ points: ratePoints(2), fits: [{ series: 'vapt exact', slope: -0.5 }] });
  const a = await renderFigure(spec);
  const b = await renderFigure(spec);
  assert.equal(a.svg, b.svg);
  assert.ok(a.png.equals(b.png));
  assert.ok(a.svg.includes('<svg') && a.png.subarray(1, 4).toString() === 'PNG');
});

test('one colour per method family, whatever the figure calls it', () => {
  assert.equal(colorOf('vpt exact'), colorOf('vpt-deep'));
  assert.equal(colorOf('vapt over'), colorOf('gaussian-gated vapt exact'));
  assert.equal(familyOf('e2vpt'), 'kv');
  assert.equal(familyOf('kv over'), 'kv');
  assert.notEqual(colorOf('vpt exact'), colorOf('vapt exact'));
  assert.equal(familyOf('k=4 as-published'), 'gg-published');
  const styles = styleSeries(['vpt over', 'vpt exact']);
  assert.notEqual(styles[0]?.shape, styles[1]?.shape);
});

test('the gate figure data: gates are probability rows and prompt experts carry their measured kinds', () => {
  const panels = gatePanels({ seed: 5, tokens: 4, grid: [2, 2], width: 3, dk: 3, dv: 3, prompts: 2, kernel: 1, rank: 2, weightScale: 0.5, promptScale: 1 });
  assert.deepEqual(panels.map((p) => p.method), ['VPT-deep', 'E2VPT key-value', 'VAPT']);
  for (const p of panels) {
    for (let i = 0; i < p.view.gates.rows; i++) {
      let s = 0;
      for (let j = 0; j < p.view.gates.cols; j++) s += p.view.gates.data[i * p.view.gates.cols + j] as number;
      assert.ok(Math.abs(s - 1) < 1e-12);
    }
  }
  assert.deepEqual(panels[0]?.expertKinds.slice(4), ['constant', 'constant']);
  assert.deepEqual(panels[2]?.expertKinds.slice(4), ['nonlinear', 'nonlinear']);
});

test('catalog ids are unique and name their inputs', () => {
  const ids = CATALOG.map((f) => f.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const f of CATALOG) assert.ok(f.inputs.length > 0 && f.caption.length > 20);
});

test('figures --check fails (exit 1) when a non-optional figure has missing inputs', async () => {
  const { invoke } = await import('../../src/cli/main.js');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const here = process.cwd();
  process.chdir(mkdtempSync(join(tmpdir(), 'pe-figs-')));
  try {
    const r = await invoke(['figures', '--check', '--only', 'attention-gates']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^figures: cannot check attention-gates: missing experiments\/attention-gates\/config\.json\n$/);
    const plain = await invoke(['figures', '--only', 'attention-gates', '--out', 'out']);
    assert.equal(plain.code, 0, 'without --check a figure with missing inputs is skipped');
    assert.match(plain.stderr, /skipping attention-gates/);
  } finally {
    process.chdir(here);
  }
});
