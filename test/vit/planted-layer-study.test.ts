/**
 * The planted-layer study end to end on a tiny backbone (wasm for the frozen part): one fit line
 * per (form, regime, n, seed) with stop reason, steps and the simulation's losses; slope lines
 * per (form, regime, loss) with the cap share; a second run skips every fit; --quick writes its
 * own files; a block beyond the depth is refused before anything is written; the over-floor regime
 * (weight-floored students) runs beside the free one and needs a weightFloor.
 */
import './quiet-tfjs.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlantedLayer, type LayerFitLine } from '../../src/vit/planted-layer-study.js';
import { InputError } from '../../src/util/errors.js';

const vit = { imageSize: 14, channels: 1, patch: 7, width: 16, depth: 2, heads: 2, mlpRatio: 2 };

test('tiny planted-layer run: fit lines with stop reasons and losses, slope lines, resumable, quick apart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'planted-layer-'));
  const path = join(dir, 'study.json');
  writeFileSync(
    path,
    JSON.stringify({
      kind: 'vit-planted-layer',
      name: 'planted-layer-test',
      backbone: { vit, trainSize: 200, testSize: 50, steps: 5 },
      block: 1,
      forms: [{ name: 'vpt-deep', prompts: 1 }, { name: 'kv', prompts: 1 }, { name: 'vapt', prompts: 1, kernel: 1, rank: 2 }],
      n: [8, 16],
      seeds: [1],
      noise: 0.01,
      fit: { maxSteps: 30 },
      quick: { n: [8, 12], seeds: [2], forms: ["kv"], fit: { maxSteps: 5 } },
    }),
  );
  const quiet = { backend: 'wasm' as const, quiet: true, log: () => {} };
  const r1 = await runPlantedLayer(path, quiet);
  assert.equal(r1.ran, 12);
  const read = (f: string): Array<Record<string, unknown>> => readFileSync(join(dir, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const lines = read('results.jsonl');
  const fits = lines.filter((l) => l.kind === 'fit') as unknown as LayerFitLine[];
  assert.equal(fits.length, 12);
  for (const f of fits) {
    assert.ok(['tolerance', 'cap', 'stalled', 'non-finite'].includes(f.stopReason));
    assert.equal(f.converged, f.stopReason === 'tolerance');
    assert.equal(f.atCap, f.stopReason === 'cap');
    assert.ok(f.steps <= 30);
    assert.equal(f.noiseVar, 1e-4);
    assert.ok(Number.isFinite(f.trainObjective) && Number.isFinite(f.D1));
    assert.equal(Number.isFinite(f['atoms-single'] ?? NaN), f.cells.includes(1), 'atoms-single exactly when a singleton cell exists');
    assert.equal(f.L, f.regime === 'exact' ? 1 : 2);
    assert.equal(f.cells.reduce((a, b) => a + b, 0), f.L);
    if (f.regime === 'over' && f.cells.some((c) => c >= 2)) assert.ok(f['atoms-multi'] !== undefined);
  }
  for (const s of lines.filter((l) => l.kind === 'slope')) {
    assert.ok(Number.isFinite(s.slope));
    assert.deepEqual(Object.keys(s.capShare as object), ['8', '16']);
    // capShare counts the cap only; unconvergedShare every stop but the tolerance.
    const fitsOf = lines.filter((l) => l.kind === 'fit' && l.form === s.form && l.regime === s.regime);
    for (const n of ['8', '16']) {
      const at = fitsOf.filter((f) => String(f.n) === n);
      assert.equal((s.capShare as Record<string, number>)[n], at.filter((f) => f.atCap === true).length / at.length);
      assert.equal((s.unconvergedShare as Record<string, number>)[n], at.filter((f) => f.converged !== true).length / at.length);
    }
  }
  const before = readFileSync(join(dir, 'results.jsonl'), 'utf8');
  const r2 = await runPlantedLayer(path, quiet);
  assert.equal(r2.ran, 0);
  assert.equal(readFileSync(join(dir, 'results.jsonl'), 'utf8'), before);
  // Slope lines over converged fits and over all fits; a run with nothing to fit recomputes them.
  const slopeLines = lines.filter((l) => l.kind === 'slope');
  assert.ok(slopeLines.some((l) => l.fits === 'converged') && slopeLines.some((l) => l.fits === 'all'));
  writeFileSync(join(dir, 'results.jsonl'), fits.map((f) => `${JSON.stringify(f)}\n`).join(''));
  await runPlantedLayer(path, quiet);
  const strip = (ls: Array<Record<string, unknown>>) => ls.map(({ finished: _f, ...rest }) => rest);
  assert.deepEqual(strip(read('results.jsonl').filter((l) => l.kind === 'slope')), strip(slopeLines));
  // A staged study (one regime) in the same folder keeps the other regime's slope lines.
  const stage = join(dir, 'stage.json');
  writeFileSync(stage, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), regimes: ['exact'] }));
  writeFileSync(join(dir, 'results.jsonl'), fits.map((f) => `${JSON.stringify(f)}\n`).join(''));
  await runPlantedLayer(stage, quiet);
  assert.deepEqual(strip(read('results.jsonl').filter((l) => l.kind === 'slope')), strip(slopeLines));
  // So does a stage that names only some of the forms: the other forms' slope lines stay.
  const formStage = join(dir, 'stage-forms.json');
  const whole = JSON.parse(readFileSync(path, 'utf8')) as { forms: Array<{ name: string }> };
  writeFileSync(formStage, JSON.stringify({ ...whole, forms: whole.forms.filter((f) => f.name === 'vapt'), quick: undefined }));
  writeFileSync(join(dir, 'results.jsonl'), fits.map((f) => `${JSON.stringify(f)}\n`).join(''));
  await runPlantedLayer(formStage, quiet);
  assert.deepEqual(strip(read('results.jsonl').filter((l) => l.kind === 'slope')), strip(slopeLines));
  const full = readFileSync(join(dir, 'results.jsonl'), 'utf8');
  const rq = await runPlantedLayer(path, { ...quiet, quick: true });
  assert.equal(rq.ran, 4, 'kv x 2 regimes x 2 n x 1 seed');
  for (const f of read('results.quick.jsonl').filter((l) => l.kind === 'fit')) assert.ok((f.steps as number) <= 5, 'the quick fit block caps the steps');
  assert.ok(existsSync(join(dir, 'results.quick.jsonl')) && existsSync(join(dir, 'run.quick.json')));
  assert.equal(readFileSync(join(dir, 'results.jsonl'), 'utf8'), full, 'quick fits do not mix with the full grid');

  const bad = mkdtempSync(join(tmpdir(), 'planted-layer-bad-'));
  const badPath = join(bad, 'study.json');
  writeFileSync(badPath, JSON.stringify({ kind: 'vit-planted-layer', name: 'bad', backbone: { vit }, block: 2, forms: [{ name: 'kv' }], n: [8, 16], seeds: [1] }));
  await assert.rejects(runPlantedLayer(badPath, quiet), (e: unknown) => e instanceof InputError && e.field === `${badPath}: block`);
  assert.ok(!existsSync(join(bad, 'results.jsonl')));
});

test('over-floor regime: floored students beside the free ones (same n, seeds), their floor on every line, their own slope lines; refused without a weightFloor', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'planted-layer-floor-'));
  const path = join(dir, 'study.json');
  const study = { kind: 'vit-planted-layer', name: 'floor-test', backbone: { vit, trainSize: 200, testSize: 50, steps: 5 }, block: 1, forms: [{ name: 'kv', prompts: 1 }], regimes: ['over', 'over-floor'], weightFloor: 0.2, n: [8, 16], seeds: [1], noise: 0.01, fit: { maxSteps: 30 } };
  writeFileSync(path, JSON.stringify(study));
  const quiet = { backend: 'wasm' as const, quiet: true, log: () => {} };
  const r = await runPlantedLayer(path, quiet);
  assert.equal(r.ran, 4);
  const lines = readFileSync(join(dir, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const floored = lines.filter((l) => l.kind === 'fit' && l.regime === 'over-floor') as unknown as LayerFitLine[];
  assert.equal(floored.length, 2);
  for (const f of floored) {
    assert.equal(f.weightFloor, 0.2);
    assert.equal(f.L, 2);
    assert.equal(f.estimate?.length, 2);
    for (const a of f.estimate ?? []) assert.ok((a.weight as number) >= 0.2, `fitted weight ${a.weight} below the floor`);
    assert.equal(f.gateMeans?.length, 2);
    assert.equal(f.truthGateMeans?.length, 1);
    assert.equal(typeof f.muted, 'boolean');
  }
  for (const f of lines.filter((l) => l.kind === 'fit' && l.regime === 'over')) assert.equal(f.weightFloor, undefined);
  assert.ok(lines.some((l) => l.kind === 'slope' && l.regime === 'over-floor'));

  const bad = mkdtempSync(join(tmpdir(), 'planted-layer-floor-bad-'));
  const badPath = join(bad, 'study.json');
  const { weightFloor: _w, ...noFloor } = study;
  writeFileSync(badPath, JSON.stringify(noFloor));
  await assert.rejects(runPlantedLayer(badPath, quiet), (e: unknown) => e instanceof InputError && e.field === `${badPath}: weightFloor`);
  writeFileSync(badPath, JSON.stringify({ ...study, weightFloor: 0.9 }));
  await assert.rejects(runPlantedLayer(badPath, quiet), (e: unknown) => e instanceof InputError && e.field === `${badPath}: weightFloor` && /half the planted weight/.test(e.message));
  assert.ok(!existsSync(join(bad, 'results.jsonl')));
});
