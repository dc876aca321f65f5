/**
 * The float64 prompted layer of the planted-layer study on a small random network (d = 8,
 * 2 heads, a 3 x 3 patch grid + CLS): analytic gradients against central finite differences,
 * and recovery of the planted prompts from noiseless targets (all tokens' outputs) to 1e-6 up
 * to the order of the prompts (cells of the toolkit's Voronoi assignment), for each form's
 * exact-specified student; the preconditioner's head-sparse Gram matrix against the plain sum, to the bit;
 * the weight-floored student's reparameterisation (gradients, floor, round trip).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { SmoothObjective } from '../../src/estimate/minimize.js';
import { makeRng } from '../../src/util/rng.js';
import { atomReport } from '../../src/loss/atoms.js';
import { plantedLayer, type LayerTokens, type LayerWeights, type PlantedForm, PLANTED_FORMS } from '../../src/vit/planted-layer.js';
import { flooredLayer, toFlooredStart } from '../../src/vit/planted-layer-floor.js';
import { drawVaptPart, fitLayer, fixedStart, gramOfHeadSparse, gramRowByRow, layerLosses, plantTruth, plantedTargets, vaptGridSize } from '../../src/vit/planted-layer-fit.js';

const d = 8;
const heads = 2;
const grid: [number, number] = [3, 3];
const T = 10;

function network(seed: number, n: number): { tokens: LayerTokens; weights: LayerWeights } {
  const rng = makeRng(seed);
  const g = (len: number, sd: number): Float64Array => Float64Array.from({ length: len }, () => sd * rng.normal());
  const weights: LayerWeights = { d, heads, WQ: g(d * d, 1 / Math.sqrt(d)), WK: g(d * d, 1 / Math.sqrt(d)), WV: g(d * d, 1 / Math.sqrt(d)), bQ: g(d, 0.1), bK: g(d, 0.1), bV: g(d, 0.1) };
  return { tokens: { n, T, d, X: g(n * T * d, 1), grid }, weights };
}

const vaptOpts = { K: 2, padding: 0, rank: 4, residual: true };

function layerOf(form: PlantedForm, L: number, n: number) {
  const { tokens, weights } = network(11, n);
  const vapt = form === 'vapt' ? drawVaptPart(d, vaptOpts, 5) : undefined;
  return { layer: plantedLayer(tokens, weights, { form, atoms: L, ...(vapt ? { vapt } : {}) }), weights };
}

/** The largest |central difference (h = 1e-5) - analytic gradient| over the parameters, relative to max |gradient|. */
function finiteDifferenceError(obj: SmoothObjective, theta: Float64Array): { worst: number; scale: number } {
  const grad = new Float64Array(obj.dim);
  obj.valueAndGradient(theta, grad);
  const g2 = new Float64Array(obj.dim);
  let scale = 0;
  for (const v of grad) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let k = 0; k < obj.dim; k++) {
    const h = 1e-5;
    const tp = Float64Array.from(theta);
    const tm = Float64Array.from(theta);
    tp[k] = (tp[k] as number) + h;
    tm[k] = (tm[k] as number) - h;
    const fd = (obj.valueAndGradient(tp, g2) - obj.valueAndGradient(tm, g2)) / (2 * h);
    worst = Math.max(worst, Math.abs(fd - (grad[k] as number)) / scale);
  }
  return { worst, scale };
}

test('analytic gradient matches central differences (1e-6 relative) for vpt-deep, kv and vapt', () => {
  for (const form of PLANTED_FORMS) {
    const { layer, weights } = layerOf(form, 3, 6);
    const { truth, blockScale } = plantTruth(form, 2, weights, vaptGridSize(grid, vaptOpts), { plantScale: 1, plantBias: 0.3 }, 3);
    const rng = makeRng(9);
    const thetaStar = layerOf(form, 2, 6).layer.fromMeasure(truth);
    const Y = plantedTargets(layerOf(form, 2, 6).layer, thetaStar, 0.2, rng);
    const theta = fixedStart(layer, truth, blockScale, 0.5, rng);
    const { worst, scale } = finiteDifferenceError(layer.objective(Y), theta);
    assert.ok(scale > 0, `${form}: gradient not zero`);
    assert.ok(worst < 1e-6, `${form}: finite-difference error ${worst} relative to max |grad| ${scale}`);
  }
});

test('noiseless targets: each exact student recovers the planted prompts to 1e-6 (up to order)', () => {
  for (const form of PLANTED_FORMS) {
    const { layer, weights } = layerOf(form, 2, 30);
    const { truth, blockScale } = plantTruth(form, 2, weights, vaptGridSize(grid, vaptOpts), { plantScale: 1, plantBias: 0.5 }, 21);
    const thetaStar = layer.fromMeasure(truth);
    const rng = makeRng(4);
    const Y = plantedTargets(layer, thetaStar, 0, rng);
    // Start: the prompts in reversed order (a permutation), then perturbed.
    const reversed = { atoms: [...truth.atoms].reverse() };
    const theta0 = fixedStart(layer, reversed, blockScale, 0.2, rng);
    const fit = fitLayer(layer, Y, theta0, { fatol: 1e-26, gtol: 1e-13, ftol: 0, maxSteps: 20000 });
    assert.equal(fit.stopReason, 'tolerance', `${form}: ${fit.stopReason} after ${fit.steps} steps, objective ${fit.trainObjective}`);
    const fitted = layer.toMeasure(fit.theta);
    const rep = atomReport(fitted, truth);
    assert.deepEqual(rep.cells.map((c) => c.size), [1, 1], `${form}: one fitted atom per planted atom`);
    assert.notDeepEqual(rep.atoms.map((a) => a.cell), [0, 1], `${form}: the start was reversed, so the cells are too`);
    for (const a of rep.atoms) assert.ok(a.distance < 1e-6, `${form}: atom error ${a.distance}`);
    for (const c of rep.cells) assert.ok(Math.abs((c.weightSum as number) - (c.trueWeight as number)) < 1e-6, `${form}: weight ${c.weightSum} vs ${c.trueWeight}`);
    const losses = layerLosses(fitted, truth);
    assert.ok(losses.D1 < 1e-5 && (losses['atoms-single'] as number) < 1e-6, `${form}: D1 ${losses.D1}`);
    assert.equal(losses['atoms-multi'], undefined, 'no multi-atom cell in an exact fit');
  }
});

test('an over-specified student has one cell of two atoms and reports atoms-multi', () => {
  const form: PlantedForm = 'vpt-deep';
  const { layer, weights } = layerOf(form, 3, 30);
  const { truth, blockScale } = plantTruth(form, 2, weights, 0, { plantScale: 1, plantBias: 0.5 }, 21);
  const exact = layerOf(form, 2, 30).layer;
  const rng = makeRng(8);
  const Y = plantedTargets(exact, exact.fromMeasure(truth), 0.05, rng);
  const fit = fitLayer(layer, Y, fixedStart(layer, truth, blockScale, 0.1, rng), { maxSteps: 300 });
  const losses = layerLosses(layer.toMeasure(fit.theta), truth);
  assert.deepEqual([...losses.cells].sort(), [1, 2]);
  assert.ok(losses['atoms-multi'] !== undefined && losses['atoms-multi-min'] !== undefined);
  assert.ok((losses['atoms-multi-min'] as number) <= (losses['atoms-multi'] as number));
  assert.ok(['tolerance', 'cap', 'stalled'].includes(fit.stopReason));
  assert.equal(fit.converged, fit.stopReason === 'tolerance');
});

test('the Gauss-Newton-preconditioned fit (refreshed every 20 steps) recovers the planted prompts to 1e-6 too', () => {
  for (const form of PLANTED_FORMS) {
    const { tokens, weights } = network(11, 30);
    const vapt = form === 'vapt' ? drawVaptPart(d, vaptOpts, 5) : undefined;
    const cfg = { form, atoms: 2, ...(vapt ? { vapt } : {}) };
    const layer = plantedLayer(tokens, weights, cfg);
    const sub = plantedLayer({ ...tokens, n: 8, X: tokens.X.subarray(0, 8 * T * d) }, weights, cfg);
    const { truth, blockScale } = plantTruth(form, 2, weights, vaptGridSize(grid, vaptOpts), { plantScale: 1, plantBias: 0.5 }, 22);
    const rng = makeRng(6);
    const Y = plantedTargets(layer, layer.fromMeasure(truth), 0, rng);
    const fit = fitLayer(layer, Y, fixedStart(layer, truth, blockScale, 0.2, rng), { fatol: 1e-26, gtol: 1e-13, ftol: 0, maxSteps: 5000 }, sub, 20);
    assert.equal(fit.stopReason, 'tolerance', `${form}: ${fit.stopReason} after ${fit.steps} steps`);
    const rep = atomReport(layer.toMeasure(fit.theta), truth);
    for (const a of rep.atoms) assert.ok(a.distance < 1e-6, `${form}: atom error ${a.distance}`);
  }
});

test('the preconditioned fit reports the cap over all rounds, not converged', () => {
  const { tokens, weights } = network(11, 30);
  const layer = plantedLayer(tokens, weights, { form: 'kv', atoms: 2 });
  const { truth, blockScale } = plantTruth('kv', 2, weights, 0, { plantScale: 1, plantBias: 0.5 }, 22);
  const rng = makeRng(6);
  const Y = plantedTargets(layer, layer.fromMeasure(truth), 0.1, rng);
  const fit = fitLayer(layer, Y, fixedStart(layer, truth, blockScale, 0.5, rng), { gtol: 1e-12, ftol: 0, maxSteps: 12 }, layer, 5);
  assert.equal(fit.stopReason, 'cap');
  assert.equal(fit.converged, false);
  assert.equal(fit.steps, 12);
});

test('the head-sparse Gram matrix equals the plain row-by-row J^T J / m to the bit (fast-check)', () => {
  fc.assert(
    fc.property(
      fc.record({ heads: fc.integer({ min: 1, max: 4 }), dh: fc.integer({ min: 1, max: 5 }), rows: fc.integer({ min: 1, max: 6 }), P: fc.integer({ min: 1, max: 11 }), seed: fc.integer({ min: 1, max: 1e6 }) }),
      ({ heads, dh, rows, P, seed }) => {
        const rng = makeRng(seed);
        const d = heads * dh;
        const m = rows * d;
        const J = new Float64Array(P * m);
        for (let k = 0; k < P; k++) {
          // Each column touches a random set of heads (none, one, several or all), with some exact zeros inside them.
          const touches = Array.from({ length: heads }, () => rng.uniform() < 0.6);
          for (let r = 0; r < m; r++) if (touches[Math.floor((r % d) / dh)] === true && rng.uniform() < 0.9) J[k * m + r] = rng.normal() * Math.exp(4 * rng.normal());
        }
        const got = gramOfHeadSparse(J, P, m, d, heads);
        const want = gramRowByRow(J, P, m);
        for (let k = 0; k < P * P; k++) assert.ok(Object.is(got[k], want[k]), `entry ${k}: ${got[k]} against ${want[k]}`);
      },
    ),
    { seed: 20261207, numRuns: 200 },
  );
});

test('floored student: gradient in u coordinates matches central differences, weights stay above the floor, and the map round-trips', () => {
  const floor = 0.3;
  for (const form of PLANTED_FORMS) {
    const { layer: free, weights } = layerOf(form, 3, 5);
    const layer = flooredLayer(free, floor);
    const { truth, blockScale } = plantTruth(form, 2, weights, vaptGridSize(grid, vaptOpts), { plantScale: 1, plantBias: 0.3 }, 3);
    const rng = makeRng(4);
    const Y = plantedTargets(layerOf(form, 2, 5).layer, layerOf(form, 2, 5).layer.fromMeasure(truth), 0.2, rng);
    const start = fixedStart(free, truth, blockScale, 0.5, rng);
    const theta = toFlooredStart(free, start, floor);
    // Above the floor the start is the free start, mapped: the same measure.
    const a = free.toMeasure(start).atoms;
    const b = layer.toMeasure(theta).atoms;
    for (let j = 0; j < a.length; j++) {
      const wa = (a[j] as { weight: number }).weight;
      const wb = (b[j] as { weight: number }).weight;
      assert.ok(wb >= floor, `${form}: weight ${wb} below the floor`);
      if (wa > 1.1 * floor) assert.ok(Math.abs(wa - wb) < 1e-12 * wa, `${form}: start weight ${wa} mapped to ${wb}`);
    }
    const back = layer.fromMeasure(layer.toMeasure(theta));
    for (let k = 0; k < theta.length; k++) assert.ok(Math.abs((back[k] as number) - (theta[k] as number)) < 1e-9 * Math.max(1, Math.abs(theta[k] as number)), `${form}: round trip entry ${k}`);
    const { worst } = finiteDifferenceError(layer.objective(Y), theta);
    assert.ok(worst < 1e-6, `${form}: finite-difference error ${worst}`);
    // A bias driven far down leaves the weight at the floor, not below it.
    const low = Float64Array.from(theta);
    low[0] = -50;
    assert.ok(Math.abs((layer.toMeasure(low).atoms[0] as { weight: number }).weight - floor) < 1e-12);
  }
});

test('gateMeans: each prompt\'s mean attention share, in (0, 1) with the shares summing below 1, near 0 for a prompt whose bias mutes it', () => {
  for (const form of PLANTED_FORMS) {
    const { layer, weights } = layerOf(form, 2, 4);
    const { truth } = plantTruth(form, 2, weights, vaptGridSize(grid, vaptOpts), { plantScale: 1, plantBias: 0.3 }, 3);
    const theta = layer.fromMeasure(truth);
    const g = layer.gateMeans(theta);
    assert.equal(g.length, 2);
    for (const v of g) assert.ok(v > 0 && v < 1, `${form}: share ${v}`);
    assert.ok((g[0] as number) + (g[1] as number) < 1, `${form}: the tokens keep some attention`);
    const muted = Float64Array.from(theta);
    muted[0] = -60;
    const gm = layer.gateMeans(muted);
    assert.ok((gm[0] as number) < 1e-20, `${form}: muted share ${gm[0]}`);
    assert.ok(Math.abs((gm[1] as number) - (g[1] as number)) < 0.5, `${form}: the other prompt keeps a share`);
  }
});
