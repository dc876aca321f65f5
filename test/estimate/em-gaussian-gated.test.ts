import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  PUBLISHED_TYPE_I,
  type GaussianGatedParams,
  cloneGaussianGated,
  gatedExpertMean,
  gaussianGated,
  gaussianGatedToMeasure,
  jointLogLikelihood,
  logGate,
  prepareGaussianGated,
  sampleGaussianGated,
} from '../../src/mixture/gaussian-gated.js';
import { EM_PASS_ENV, emIteration, fitEmGaussianGated, perturbedStart, publishedInit, publishedPerturbationScales, randomCoverAssignment, resolveEmPass, emGaussianGated } from '../../src/estimate/em-gaussian-gated.js';
import { matchedErrors } from '../../src/loss/matching.js';
import { presetLoss } from '../../src/loss/presets.js';
import { makeRng } from '../../src/util/rng.js';
import { InputError } from '../../src/util/errors.js';
import type { Samples } from '../../src/mixture/family.js';

const fam = (k: number, d = 1) => ({ kind: 'gaussian-gated' as const, d, k });
const isInputError = (field: string) => (e: unknown) => e instanceof InputError && e.field === field;

function nonDecreasing(trace: number[]): boolean {
  for (let i = 1; i < trace.length; i++) if ((trace[i] as number) < (trace[i - 1] as number) - 1e-10 * Math.max(1, Math.abs(trace[i - 1] as number))) return false;
  return true;
}

test('EM (converged protocol) never decreases the joint log-likelihood (seeded data, random and published starts)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 3, max: 5 }), fc.boolean(), (seed, k, published) => {
    const rng = makeRng(seed);
    const s = sampleGaussianGated(PUBLISHED_TYPE_I, 1500, rng);
    const r = fitEmGaussianGated(fam(k), s, {
      rng, init: published ? { kind: 'published', truth: PUBLISHED_TYPE_I } : { kind: 'random' }, maxIterations: 150, trace: true,
    });
    const tr = r.diagnostics.trace as number[];
    // The variance floor is a deliberate departure from EM; monotonicity is claimed without it.
    if (r.diagnostics.floorHits === 0) assert.ok(nonDecreasing(tr), `trace ${tr.slice(0, 5).join(', ')}`);
    assert.equal(tr.length, r.diagnostics.iterations + 1);
    assert.ok(Math.abs((tr[tr.length - 1] as number) - jointLogLikelihood(r.params, s)) < 1e-10);
    assert.equal(r.diagnostics.objective, -r.diagnostics.logLikelihood);
  }), { numRuns: 12 });
});

test('EM recovers the published type-I truth at n = 20,000 (k = k* = 3, converged)', () => {
  const rng = makeRng(2024);
  const s = sampleGaussianGated(PUBLISHED_TYPE_I, 20000, rng);
  const r = fitEmGaussianGated(fam(3), s, { rng, init: { kind: 'published', truth: PUBLISHED_TYPE_I } });
  assert.equal(r.diagnostics.protocol, 'converged');
  assert.ok(r.diagnostics.converged, `stopped after ${r.diagnostics.iterations} iterations, change ${r.diagnostics.lastChange}`);
  assert.ok(r.diagnostics.iterations > 1, 'a converged run takes more than one step: the stopping test compares distinct iterates');
  assert.ok(r.diagnostics.lastChange < 1e-5);
  const m = matchedErrors(r.measure, gaussianGatedToMeasure(PUBLISHED_TYPE_I));
  for (const [p, tol] of [['c', 0.01], ['Gamma', 0.005], ['A', 0.08], ['b', 0.05], ['nu', 0.003]] as const) {
    assert.ok((m.perParam[p]?.max as number) < tol, `${p}: ${m.perParam[p]?.max}`);
  }
  assert.ok(Math.max(...(m.weightErrors as number[])) < 0.02);
  assert.ok(presetLoss('typeI', r.measure, gaussianGatedToMeasure(PUBLISHED_TYPE_I)) < 0.06);
});

test("'as-published' runs exactly one E step and one M step from the published start", () => {
  const s = sampleGaussianGated(PUBLISHED_TYPE_I, 2000, makeRng(9));
  const one = fitEmGaussianGated(fam(4), s, { rng: makeRng(77), init: { kind: 'published', truth: PUBLISHED_TYPE_I }, protocol: 'as-published', trace: true });
  assert.equal(one.diagnostics.iterations, 1);
  assert.equal(one.diagnostics.converged, false);
  assert.equal(one.diagnostics.protocol, 'as-published');
  assert.equal((one.diagnostics.trace as number[]).length, 2);
  // Same as the converged protocol stopped after one iteration from the same start.
  const capped = fitEmGaussianGated(fam(4), s, { rng: makeRng(77), init: { kind: 'published', truth: PUBLISHED_TYPE_I }, maxIterations: 1 });
  assert.deepEqual(one.params, capped.params);
  // And differs from the start: an M step happened.
  const start = publishedInit(PUBLISHED_TYPE_I, 4, 2000, makeRng(77));
  assert.notDeepEqual(one.params.c, start.c);
  // The converged protocol goes further.
  const conv = fitEmGaussianGated(fam(4), s, { rng: makeRng(77), init: { kind: 'published', truth: PUBLISHED_TYPE_I } });
  assert.ok(conv.diagnostics.iterations > 1 && conv.diagnostics.logLikelihood >= one.diagnostics.logLikelihood);
});

test('the published start: every true component gets a copy, weights split evenly, perturbations shrink with n', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 3, max: 7 }), (seed, k) => {
    const a = randomCoverAssignment(3, k, makeRng(seed));
    assert.deepEqual([...new Set(a)].sort(), [0, 1, 2]);
    const p = publishedInit(PUBLISHED_TYPE_I, k, 1000, makeRng(seed));
    assert.ok(Math.abs(p.pi.reduce((x, y) => x + y, 0) - 1) < 1e-12);
    for (let i = 0; i < k; i++) {
      const j = a[i] as number;
      const copies = a.filter((v) => v === j).length;
      assert.ok(Math.abs((p.pi[i] as number) - (PUBLISHED_TYPE_I.pi[j] as number) / copies) < 1e-15);
      assert.ok((p.Gamma[i] as number) >= (PUBLISHED_TYPE_I.Gamma[j] as number));
      assert.ok((p.nu[i] as number) >= (PUBLISHED_TYPE_I.nu[j] as number));
      assert.ok(Math.abs((p.c[i] as number) - (PUBLISHED_TYPE_I.c[j] as number)) < 0.005 * 6);
    }
  }), { numRuns: 30 });
  const [l1, v1] = publishedPerturbationScales(100);
  const [l2, v2] = publishedPerturbationScales(100000);
  assert.ok(Math.abs(l1 - 0.005 * 100 ** -0.083) < 1e-15 && l2 < l1 && Math.abs(v1 - 0.0005 * 100 ** -0.25) < 1e-15 && v2 < v1);
});

test('EM in d = 2 with full covariances climbs the likelihood and lands near the truth', () => {
  const truth = gaussianGated({
    pi: [0.5, 0.5], c: [[-1, 0], [1, 0.5]], Gamma: [[[0.3, 0.1], [0.1, 0.2]], [[0.2, -0.05], [-0.05, 0.4]]],
    A: [[1, -1], [0.5, 0.2]], b: [0, 1], nu: [0.05, 0.1],
  });
  const rng = makeRng(5);
  const s = sampleGaussianGated(truth, 5000, rng);
  const r = fitEmGaussianGated(fam(2, 2), s, { rng, init: { kind: 'near', truth: gaussianGatedToMeasure(truth), scale: 0.05 }, trace: true });
  assert.ok(nonDecreasing(r.diagnostics.trace as number[]));
  assert.ok(r.diagnostics.converged);
  const m = matchedErrors(r.measure, gaussianGatedToMeasure(truth));
  assert.ok((m.perParam.c?.max as number) < 0.05 && (m.perParam.A?.max as number) < 0.1);
});

test('degenerate variances are floored and reported', () => {
  const n = 60;
  const X = new Float64Array(n).fill(0.5);
  const Y = new Float64Array(n).map((_, i) => (i % 2 === 0 ? 1 : 1));
  const s: Samples = { n, inputDim: 1, outputDim: 1, X, Y };
  const r = fitEmGaussianGated(fam(2), s, { rng: makeRng(1), init: { kind: 'random' }, maxIterations: 5, varianceFloor: 1e-6 });
  assert.ok(r.diagnostics.floorHits > 0);
  assert.ok(r.params.Gamma.every((g) => g >= 1e-6) && r.params.nu.every((v) => v >= 1e-6));
  assert.ok(Number.isFinite(r.diagnostics.logLikelihood));
});

test('the Estimator contract: emGaussianGated.fit is the same EM', () => {
  const s = sampleGaussianGated(PUBLISHED_TYPE_I, 800, makeRng(4));
  const a = emGaussianGated.fit(fam(3), s, { rng: makeRng(1), init: { kind: 'near', truth: gaussianGatedToMeasure(PUBLISHED_TYPE_I), scale: 0.01 }, maxIterations: 20 });
  const b = fitEmGaussianGated(fam(3), s, { rng: makeRng(1), init: { kind: 'near', truth: gaussianGatedToMeasure(PUBLISHED_TYPE_I), scale: 0.01 }, maxIterations: 20 });
  assert.deepEqual(a.measure, b.measure);
});

test('bad input to EM names the field', () => {
  const s = sampleGaussianGated(PUBLISHED_TYPE_I, 200, makeRng(3));
  const opts = { rng: makeRng(1), init: { kind: 'published' as const, truth: PUBLISHED_TYPE_I } };
  assert.throws(() => fitEmGaussianGated(fam(2), s, opts), isInputError('family.k'));
  assert.throws(() => fitEmGaussianGated(fam(3, 2), s, opts), isInputError('samples.inputDim'));
  const X = Float64Array.from(s.X); X[7] = Number.NaN;
  assert.throws(() => fitEmGaussianGated(fam(3), { ...s, X }, opts), isInputError('samples.X[7]'));
  const Y = Float64Array.from(s.Y); Y[3] = Number.POSITIVE_INFINITY;
  assert.throws(() => fitEmGaussianGated(fam(3), { ...s, Y }, opts), isInputError('samples.Y[3]'));
  assert.throws(() => fitEmGaussianGated(fam(3), { ...s, Y: s.Y.subarray(0, 10) }, opts), isInputError('samples.Y'));
  const few = sampleGaussianGated(PUBLISHED_TYPE_I, 10, makeRng(3));
  assert.throws(() => fitEmGaussianGated(fam(3), few, opts), isInputError('samples.n'));
  assert.throws(() => fitEmGaussianGated(fam(3), s, { ...opts, protocol: 'once' as never }), isInputError('protocol'));
  const badTruth = { ...PUBLISHED_TYPE_I, Gamma: Float64Array.of(0.04, -0.01, 0.01) };
  assert.throws(() => fitEmGaussianGated(fam(3), s, { ...opts, init: { kind: 'published', truth: badTruth } }), isInputError('init.truth.Gamma[1]'));
});

/**
 * Reference EM iteration, written straightforwardly: explicit n x k responsibilities from the
 * model module's densities, then the centred moments in a second pass, then the closed-form M step.
 */
function referenceIteration(p: GaussianGatedParams, s: Samples): { next: GaussianGatedParams; ll: number } {
  const { d, k } = p;
  const n = s.n;
  const pp = prepareGaussianGated(p);
  const R: number[][] = [];
  let ll = 0;
  for (let i = 0; i < n; i++) {
    const lw = Array.from({ length: k }, (_, j) => {
      const e = (s.Y[i] as number) - gatedExpertMean(p, j, s.X, i * d);
      return logGate(pp, j, s.X, i * d) - 0.5 * Math.log(2 * Math.PI * (p.nu[j] as number)) - (0.5 * e * e) / (p.nu[j] as number);
    });
    const m = Math.max(...lw);
    const tot = lw.reduce((t, v) => t + Math.exp(v - m), 0);
    ll += m + Math.log(tot);
    R.push(lw.map((v) => Math.exp(v - m) / tot));
  }
  const next = cloneGaussianGated(p);
  for (let j = 0; j < k; j++) {
    const r = R.map((row) => row[j] as number);
    const S0 = r.reduce((t, v) => t + v, 0);
    const c = Array.from({ length: d }, (_, a) => r.reduce((t, v, i) => t + v * (s.X[i * d + a] as number), 0) / S0);
    const ybar = r.reduce((t, v, i) => t + v * (s.Y[i] as number), 0) / S0;
    const Sxx = Array.from({ length: d }, (_, a) => Array.from({ length: d }, (_, b) => r.reduce((t, v, i) => t + v * ((s.X[i * d + a] as number) - (c[a] as number)) * ((s.X[i * d + b] as number) - (c[b] as number)), 0)));
    const Sxy = Array.from({ length: d }, (_, a) => r.reduce((t, v, i) => t + v * ((s.X[i * d + a] as number) - (c[a] as number)) * ((s.Y[i] as number) - ybar), 0));
    const Syy = r.reduce((t, v, i) => t + v * ((s.Y[i] as number) - ybar) ** 2, 0);
    // A = Sxx^{-1} Sxy by Gauss-Jordan elimination (d <= 3, well conditioned here).
    const M = Sxx.map((row, a) => [...row, Sxy[a] as number]);
    for (let a = 0; a < d; a++) {
      const piv = (M[a] as number[])[a] as number;
      for (let b = 0; b < d; b++) {
        if (b === a) continue;
        const f = ((M[b] as number[])[a] as number) / piv;
        for (let t = 0; t <= d; t++) (M[b] as number[])[t] = ((M[b] as number[])[t] as number) - f * ((M[a] as number[])[t] as number);
      }
    }
    const A = M.map((row, a) => (row[d] as number) / (row[a] as number));
    next.pi[j] = S0 / n;
    for (let a = 0; a < d; a++) {
      next.c[j * d + a] = c[a] as number;
      next.A[j * d + a] = A[a] as number;
      for (let b = 0; b < d; b++) next.Gamma[j * d * d + a * d + b] = ((Sxx[a] as number[])[b] as number) / S0;
    }
    next.b[j] = ybar - A.reduce((t, v, a) => t + v * (c[a] as number), 0);
    next.nu[j] = (Syy - A.reduce((t, v, a) => t + v * (Sxy[a] as number), 0)) / S0;
  }
  return { next, ll: ll / n };
}

test('the fused EM iteration equals the two-pass reference iteration to 1e-10 (d = 1, 2, 3; k = 2..5)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 5 }), fc.integer({ min: 0, max: 1e6 }), (d, k, seed) => {
      const rng = makeRng(seed);
      const truth = gaussianGated({
        pi: Array.from({ length: k }, () => 1 / k),
        c: Array.from({ length: k }, () => Array.from({ length: d }, () => 3 * rng.normal())),
        Gamma: Array.from({ length: k }, () => Array.from({ length: d }, (_, a) => Array.from({ length: d }, (_, b) => (a === b ? 1 : 0.2)))),
        A: Array.from({ length: k }, () => Array.from({ length: d }, () => rng.normal())),
        b: Array.from({ length: k }, () => rng.normal()),
        nu: Array.from({ length: k }, () => 0.1 + rng.uniform()),
      });
      const s = sampleGaussianGated(truth, 400, rng);
      const start = perturbedStart(truth, k, 0.3, 0.3, rng);
      const mine = emIteration(start, s);
      const ref = referenceIteration(start, s);
      assert.ok(Math.abs(mine.logLikelihood - ref.ll) <= 1e-12 * Math.abs(ref.ll), `ll ${mine.logLikelihood} vs ${ref.ll}`);
      for (const key of ['pi', 'c', 'Gamma', 'A', 'b', 'nu'] as const) {
        const a = mine.next[key];
        const b = ref.next[key];
        const scale = Math.max(1e-300, ...Array.from(b, Math.abs));
        for (let t = 0; t < b.length; t++) assert.ok(Math.abs((a[t] as number) - (b[t] as number)) <= 1e-10 * scale, `${key}[${t}]: ${a[t]} vs ${b[t]}`);
      }
    }),
    { numRuns: 40, seed: 47 },
  );
});

/** A random d = 1 problem with k components: random truth, data, and a perturbed start. */
function randomD1Problem(k: number, n: number, seed: number): { s: Samples; start: GaussianGatedParams } {
  const rng = makeRng(seed);
  const truth = gaussianGated({
    pi: Array.from({ length: k }, () => 1 / k),
    c: Array.from({ length: k }, () => [3 * rng.normal()]),
    Gamma: Array.from({ length: k }, () => [[0.05 + rng.uniform()]]),
    A: Array.from({ length: k }, () => [rng.normal()]),
    b: Array.from({ length: k }, () => rng.normal()),
    nu: Array.from({ length: k }, () => 0.01 + rng.uniform()),
  });
  const s = sampleGaussianGated(truth, n, rng);
  return { s, start: perturbedStart(truth, k, 0.3, 0.3, rng) };
}

test("the d = 1 pass ('js') gives the general pass's next iterate and log-likelihood bit for bit (k = 1..7, n = 1..600)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 600 }), fc.integer({ min: 0, max: 1e6 }), (k, n, seed) => {
      const { s, start } = randomD1Problem(k, n, seed);
      const general = emIteration(start, s, 1e-10, 'general');
      const d1 = emIteration(start, s, 1e-10, 'js');
      assert.equal(general.pass, 'general');
      assert.equal(d1.pass, 'js');
      assert.equal(d1.logLikelihood, general.logLikelihood);
      assert.deepEqual(d1.next, general.next);
    }),
    { numRuns: 60, seed: 12 },
  );
  // and whole fits take the same iterates
  const { s } = randomD1Problem(4, 2000, 5);
  const opts = { rng: makeRng(3), init: { kind: 'random' as const }, maxIterations: 40 };
  const a = fitEmGaussianGated(fam(4), s, { ...opts, rng: makeRng(3), pass: 'general' });
  const b = fitEmGaussianGated(fam(4), s, { ...opts, rng: makeRng(3), pass: 'js' });
  assert.deepEqual(b.params, a.params);
  assert.equal(b.diagnostics.logLikelihood, a.diagnostics.logLikelihood);
});

test('the pass selection: d > 1 always runs the general pass; a bad option or environment value names the field', () => {
  assert.equal(resolveEmPass(2, 'js'), 'general');
  assert.equal(resolveEmPass(1, 'general'), 'general');
  assert.equal(resolveEmPass(1, 'js'), 'js');
  assert.throws(() => resolveEmPass(1, 'fast' as never), isInputError('pass'));
  const old = process.env[EM_PASS_ENV];
  try {
    process.env[EM_PASS_ENV] = 'general';
    assert.equal(resolveEmPass(1), 'general');
    process.env[EM_PASS_ENV] = 'simd';
    assert.throws(() => resolveEmPass(1), isInputError(EM_PASS_ENV));
  } finally {
    if (old === undefined) delete process.env[EM_PASS_ENV];
    else process.env[EM_PASS_ENV] = old;
  }
});
