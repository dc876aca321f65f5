import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EmD1Kernel, wasmEmStatus, wasmExp } from '../../src/estimate/em-d1-kernel.js';
import { emIteration, fitEmGaussianGated, perturbedStart } from '../../src/estimate/em-gaussian-gated.js';
import { type GaussianGatedParams, gaussianGated, sampleGaussianGated } from '../../src/mixture/gaussian-gated.js';
import type { Samples } from '../../src/mixture/family.js';
import { makeRng } from '../../src/util/rng.js';

const SMALLEST_NORMAL = 2 ** -1022;
const SUBNORMAL_STEP = 2 ** -1074;

test('the WebAssembly EM kernel is built (npm run build assembles em-d1.wat)', () => {
  const s = wasmEmStatus();
  assert.ok(s.available, s.reason);
});

// The kernel's exp is within 2e-15 relative of Math.exp, plus one subnormal step where the result
// is subnormal (there the spacing of doubles is fixed at 2^-1074, so a relative bound alone cannot hold).
function assertExpClose(t: Float64Array): void {
  const e = wasmExp(t);
  for (let i = 0; i < t.length; i++) {
    const x = t[i] as number;
    const want = Math.exp(x);
    const got = e[i] as number;
    const tol = 2e-15 * want + (want < SMALLEST_NORMAL ? SUBNORMAL_STEP : 0);
    assert.ok(Math.abs(got - want) <= tol, `exp(${x}) = ${got}, Math.exp ${want}`);
  }
}

test("the kernel's exp matches Math.exp over [-745, 0] (random points, a dense grid, the reduction's boundaries)", () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: -745, max: 0, noNaN: true }), { minLength: 1, maxLength: 200 }), (xs) => assertExpClose(Float64Array.from(xs))),
    { numRuns: 200, seed: 21 },
  );
  assertExpClose(Float64Array.from({ length: 100001 }, (_, i) => (-745 * i) / 100000));
  // near t = (j + 1/2) ln 2, where the rounding of k changes, and near the subnormal threshold
  const edges: number[] = [];
  for (let j = -1075; j <= 0; j++) for (const d of [-1e-12, 0, 1e-12]) edges.push(Math.min(0, Math.max(-745, (j + 0.5) * Math.LN2 + d)));
  for (let i = -20; i <= 20; i++) edges.push(Math.log(SMALLEST_NORMAL) + i * 1e-3);
  assertExpClose(Float64Array.from(edges));
  const special = wasmExp(Float64Array.of(0, -0, -746, -1000, Number.NEGATIVE_INFINITY));
  assert.deepEqual(Array.from(special), [1, 1, 0, 0, 0]);
});

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

/** Largest difference of two iterates relative to each parameter array's largest magnitude. */
function iterateDiff(a: GaussianGatedParams, b: GaussianGatedParams): number {
  let m = 0;
  for (const key of ['pi', 'c', 'Gamma', 'A', 'b', 'nu'] as const) {
    const scale = Math.max(1e-300, ...Array.from(a[key], Math.abs));
    for (let t = 0; t < a[key].length; t++) m = Math.max(m, Math.abs((a[key][t] as number) - (b[key][t] as number)) / scale);
  }
  return m;
}

// The kernel sums in two lanes and forms log tot through a product, so it agrees with the JS
// pass to rounding; the M step's centring (Sxx - S0 delta^2) then amplifies that by the
// problem's conditioning, which is mild when every component has tens of samples.
test("the wasm pass gives the JS pass's next iterate and log-likelihood to 1e-12 relative (k = 1..7, n = 50..2001, odd and even)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 50, max: 2001 }), fc.integer({ min: 0, max: 1e6 }), (k, n, seed) => {
      const { s, start } = randomD1Problem(k, n, seed);
      const js = emIteration(start, s, 1e-10, 'js');
      const wasm = emIteration(start, s, 1e-10, 'wasm');
      assert.equal(wasm.pass, 'wasm');
      assert.ok(Math.abs(wasm.logLikelihood - js.logLikelihood) <= 1e-12 * Math.abs(js.logLikelihood), `ll ${wasm.logLikelihood} vs ${js.logLikelihood}`);
      const d = iterateDiff(js.next, wasm.next);
      assert.ok(d <= 1e-12, `next iterate differs by ${d}`);
    }),
    { numRuns: 80, seed: 33 },
  );
});

test('a few samples and an odd n: the masked last lane counts nothing', () => {
  for (const n of [1, 2, 3, 5]) {
    const { s, start } = randomD1Problem(2, n, 7 + n);
    const js = emIteration(start, s, 1e-10, 'js');
    const wasm = emIteration(start, s, 1e-10, 'wasm');
    assert.ok(Math.abs(wasm.logLikelihood - js.logLikelihood) <= 1e-13 * Math.abs(js.logLikelihood), `n = ${n}: ll ${wasm.logLikelihood} vs ${js.logLikelihood}`);
    for (let j = 0; j < 2; j++) assert.ok(Math.abs((wasm.next.pi[j] as number) - (js.next.pi[j] as number)) <= 1e-15, `n = ${n}: pi ${wasm.next.pi[j]} vs ${js.next.pi[j]}`);
    assert.ok(Math.abs((wasm.next.c[0] as number) - (js.next.c[0] as number)) <= 1e-13 * Math.max(1, Math.abs(js.next.c[0] as number)));
  }
});

test('whole EM fits with the wasm pass follow the JS iterates (k = 4 fitted to a random 3-component truth, 30 iterations)', () => {
  const { s } = randomD1Problem(3, 3000, 17);
  const opts = { init: { kind: 'random' as const }, maxIterations: 30, trace: true };
  const a = fitEmGaussianGated({ kind: 'gaussian-gated', d: 1, k: 4 }, s, { ...opts, rng: makeRng(2), pass: 'js' });
  const b = fitEmGaussianGated({ kind: 'gaussian-gated', d: 1, k: 4 }, s, { ...opts, rng: makeRng(2), pass: 'wasm' });
  assert.equal(b.diagnostics.pass, 'wasm');
  assert.equal(a.diagnostics.pass, 'js');
  const ta = a.diagnostics.trace as number[];
  const tb = b.diagnostics.trace as number[];
  for (let i = 0; i < ta.length; i++) assert.ok(Math.abs((ta[i] as number) - (tb[i] as number)) <= 1e-11 * Math.abs(ta[i] as number), `iteration ${i}: ${ta[i]} vs ${tb[i]}`);
  // each iteration adds at most the 1e-12 of one step (previous test); 30 of them stay under 1e-10
  assert.ok(iterateDiff(a.params, b.params) <= 1e-10, `final iterates differ by ${iterateDiff(a.params, b.params)}`);
});

test('kernels sharing the per-thread memory: a kernel whose data another overwrote copies it back', () => {
  const p1 = randomD1Problem(3, 901, 41);
  const p2 = randomD1Problem(3, 600, 42);
  const comps = (p: GaussianGatedParams) => {
    const k = p.k;
    const Linv = Float64Array.from(p.Gamma, (g) => 1 / Math.sqrt(g));
    const invNu = Float64Array.from(p.nu, (v) => 1 / v);
    const logConst = Float64Array.from({ length: k }, (_, j) => Math.log(p.pi[j] as number) - 0.5 * Math.log(p.Gamma[j] as number) - Math.log(2 * Math.PI) - 0.5 * Math.log(p.nu[j] as number));
    return [p.c, p.b, p.A, Linv, logConst, invNu] as const;
  };
  const sums = () => ({ S0: new Float64Array(3), Sx: new Float64Array(3), Sy: new Float64Array(3), Sxx: new Float64Array(3), Sxy: new Float64Array(3), Syy: new Float64Array(3) });
  const a = new EmD1Kernel(p1.s.X, p1.s.Y, p1.s.n, 3);
  a.setComponents(...comps(p1.start));
  const sa = sums();
  const la = a.pass(sa);
  const b = new EmD1Kernel(p2.s.X, p2.s.Y, p2.s.n, 3);
  b.setComponents(...comps(p2.start));
  const lb = b.pass(sums());
  wasmExp(Float64Array.of(-1, -2, -3));
  assert.throws(() => a.pass(null), /setComponents first/);
  a.setComponents(...comps(p1.start));
  const sa2 = sums();
  assert.equal(a.pass(sa2), la);
  assert.deepEqual(sa2, sa);
  b.setComponents(...comps(p2.start));
  assert.equal(b.pass(sums()), lb);
});
