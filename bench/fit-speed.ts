/**
 * Benchmark (npm run bench; not a test): time per Levenberg-Marquardt fit against n, side by
 * side with an independent numpy + scipy reference (bench/scipy_ref.py, MINPACK lmder with its
 * analytic Jacobian) on the same data and the same start, and the achieved arithmetic rate
 * against a measured peak of this machine's JavaScript float64 arithmetic.
 *
 * Models:
 *   moe   softmax-gated MoE, 4 atoms, d = 4, affine gates (last anchored), tanh experts
 *         V tanh(W x + c) + v0 (one hidden unit): 43 parameters (scipy reference on the same data)
 *   vapt  the VAPT prompt mixture of src/mixture/prompt-mixture.ts (4 x 4 tokens, d = 8,
 *         dk = dv = 4, 4 prompt atoms): 40 parameters, 4 outputs (TypeScript only)
 * Times are the best of 3 runs on each side (1 run for the VAPT fits at n >= 1e4).
 * Flops per fit = the LM's own arithmetic (J^T J, J^T r, solves; counted exactly) + the model's
 * Jacobian evaluations (the family's flopsPerJacobian estimate x n per pass); f-only passes are
 * not counted, so the rate is a lower bound.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leastSquares, type LmRun } from '../src/estimate/least-squares.js';
import { softmaxMoe } from '../src/mixture/softmax-moe.js';
import { promptMixture, randomTruth } from '../src/mixture/prompt-mixture.js';
import { sampleResponses, simulate } from '../src/mixture/sample.js';
import type { RegressionFamily, Samples } from '../src/mixture/family.js';
import { makeRng } from '../src/util/rng.js';

const NS = (process.env.BENCH_NS ?? "1000,10000,100000").split(",").map(Number);
const TOL = 1e-12;
/** Timed repetitions of each softmax-MoE fit, on both sides; the best time is reported (the machine may be shared). */
const REPS = 3;

/**
 * Measured peak of float64 arithmetic in this JavaScript engine (one core): the best of a 4-way
 * dot product, a 2 x 2 register-blocked dot product (4 products per 4 loads, the LM's J^T J
 * kernel shape) and a 128^3 matmul.
 */
function measurePeak(): { dot: number; blocked: number; matmul: number } {
  const len = 4096;
  const a = new Float64Array(len).map((_, i) => Math.sin(i));
  const b = new Float64Array(len).map((_, i) => Math.cos(i));
  const dot = (): number => {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let i = 0; i < len; i += 4) {
      s0 += (a[i] as number) * (b[i] as number);
      s1 += (a[i + 1] as number) * (b[i + 1] as number);
      s2 += (a[i + 2] as number) * (b[i + 2] as number);
      s3 += (a[i + 3] as number) * (b[i + 3] as number);
    }
    return s0 + s1 + s2 + s3;
  };
  let sink = 0;
  for (let r = 0; r < 2000; r++) sink += dot();
  let reps = 0;
  let t0 = performance.now();
  while (performance.now() - t0 < 400) {
    for (let r = 0; r < 1000; r++) sink += dot();
    reps += 1000;
  }
  const dotRate = (2 * len * reps) / ((performance.now() - t0) / 1000);
  const c = new Float64Array(len).map((_, i) => Math.sin(2 * i));
  const e = new Float64Array(len).map((_, i) => Math.cos(3 * i));
  const blockedDot = (): number => {
    let s00 = 0;
    let s01 = 0;
    let s10 = 0;
    let s11 = 0;
    for (let i = 0; i < len; i++) {
      const x0 = a[i] as number;
      const x1 = b[i] as number;
      const y0 = c[i] as number;
      const y1 = e[i] as number;
      s00 += x0 * y0;
      s01 += x0 * y1;
      s10 += x1 * y0;
      s11 += x1 * y1;
    }
    return s00 + s01 + s10 + s11;
  };
  for (let r = 0; r < 2000; r++) sink += blockedDot();
  reps = 0;
  t0 = performance.now();
  while (performance.now() - t0 < 400) {
    for (let r = 0; r < 1000; r++) sink += blockedDot();
    reps += 1000;
  }
  const blockedRate = (8 * len * reps) / ((performance.now() - t0) / 1000);
  const m = 128;
  const A = new Float64Array(m * m).map((_, i) => Math.sin(i));
  const B = new Float64Array(m * m).map((_, i) => Math.cos(i));
  const C = new Float64Array(m * m);
  const mm = (): void => {
    C.fill(0);
    for (let i = 0; i < m; i++) {
      for (let k = 0; k < m; k++) {
        const aik = A[i * m + k] as number;
        const bo = k * m;
        const co = i * m;
        for (let j = 0; j < m; j++) C[co + j] = (C[co + j] as number) + aik * (B[bo + j] as number);
      }
    }
  };
  mm();
  reps = 0;
  t0 = performance.now();
  while (performance.now() - t0 < 400) {
    mm();
    reps++;
  }
  const mmRate = (2 * m * m * m * reps) / ((performance.now() - t0) / 1000);
  if (sink === 42) console.log(''); // keep the loop alive
  return { dot: dotRate, blocked: blockedRate, matmul: mmRate };
}

function fitFlops(family: RegressionFamily & { flopsPerJacobian: number }, n: number, run: LmRun): number {
  return run.flops + run.jacobianEvaluations * n * family.flopsPerJacobian;
}


function timeFits(family: RegressionFamily, samples: Samples, theta0: Float64Array, reps: number): { run: LmRun; seconds: number } {
  const lm = leastSquares({ ftol: TOL, gtol: TOL, xtol: TOL, maxIterations: 2000 });
  const times: number[] = [];
  let run: LmRun | undefined;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    run = lm.fitFrom(family, samples, theta0);
    times.push((performance.now() - t0) / 1000);
  }
  return { run: run as LmRun, seconds: Math.min(...times) };
}

interface ScipyResult {
  objective: number;
  seconds: number;
  nfev: number;
  njev: number;
  status: number;
  numpy: string;
  scipy: string;
}

function scipyFit(samples: Samples, theta0: Float64Array, meta: Record<string, number>): ScipyResult | string {
  const dir = mkdtempSync(join(tmpdir(), 'pe-bench-'));
  try {
    writeFileSync(join(dir, 'X.bin'), new Uint8Array(samples.X.buffer, samples.X.byteOffset, samples.X.byteLength));
    writeFileSync(join(dir, 'Y.bin'), new Uint8Array(samples.Y.buffer, samples.Y.byteOffset, samples.Y.byteLength));
    writeFileSync(join(dir, 'theta0.bin'), new Uint8Array(theta0.buffer, theta0.byteOffset, theta0.byteLength));
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ ...meta, n: samples.n, tol: TOL, maxNfev: 4000 }));
    const script = fileURLToPath(new URL('../../bench/scipy_ref.py', import.meta.url));
    const out = execFileSync(process.env.PYTHON ?? 'python3', [script, dir], { encoding: 'utf8', maxBuffer: 1 << 26 });
    return JSON.parse(out.trim().split('\n').pop() as string) as ScipyResult;
  } catch (e) {
    return `scipy reference unavailable (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (x: number, digits = 3): string => (x >= 100 ? x.toFixed(0) : x.toPrecision(digits));

function main(): void {
  const started = performance.now();
  console.log(`# prompt-experts fit-speed benchmark`);
  console.log(`date ${new Date().toISOString()}; node ${process.version}; ${cpus()[0]?.model ?? 'unknown cpu'} x ${cpus().length}; ${(totalmem() / 2 ** 30).toFixed(0)} GiB`);
  const peak = measurePeak();
  const peakRate = Math.max(peak.dot, peak.blocked, peak.matmul);
  console.log(
    `measured JS float64 peak (one core): dot ${fmt(peak.dot / 1e9)} GFLOP/s, 2x2-blocked dot ${fmt(peak.blocked / 1e9)} GFLOP/s, matmul ${fmt(peak.matmul / 1e9)} GFLOP/s; peak used: ${fmt(peakRate / 1e9)} GFLOP/s`,
  );

  // --- softmax MoE against scipy ---
  const L = 4;
  const d = 4;
  const hidden = 1;
  const moe = softmaxMoe({ atoms: L, inputDim: d, gate: { kind: 'affine' }, expert: { kind: 'mlp', activation: 'tanh', hidden }, anchor: 'last' });
  const truthTheta = moe.sampleTheta(makeRng(11));
  const truth = moe.toMeasure(truthTheta);
  console.log(`\n## ${moe.name}: ${moe.nParams} parameters; sigma = 0.1; x ~ N(0, I); start = truth + 0.2 N(0, I); ftol = xtol = gtol = ${TOL}`);
  console.log('| n | TS LM s | TS iters (J / f evals) | scipy lm s | scipy nfev / njev | speed-up vs scipy | TS objective | rel. diff vs scipy | GFLOP/s | fraction of measured peak |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  {
    // Warm the JIT once on a small problem.
    const s = simulate({ family: moe, truth, inputs: { kind: 'gaussian', dim: d }, n: 2000, sigma: 0.1, rng: makeRng(1) });
    timeFits(moe, s, truthTheta, 2);
  }
  let versions = '';
  for (const n of NS) {
    const s = simulate({ family: moe, truth, inputs: { kind: 'gaussian', dim: d }, n, sigma: 0.1, rng: makeRng(n) });
    const rng = makeRng(n + 1);
    const theta0 = Float64Array.from(truthTheta, (v) => v + 0.2 * rng.normal());
    const { run, seconds } = timeFits(moe, s, theta0, REPS);
    const flops = fitFlops(moe, n, run);
    const py = scipyFit(s, theta0, { d, atoms: L, hidden, reps: REPS });
    const cells =
      typeof py === 'string'
        ? ['n/a', 'n/a', 'n/a', 'n/a']
        : [fmt(py.seconds), `${py.nfev} / ${py.njev}`, `${(py.seconds / seconds).toFixed(2)}x`, (Math.abs(run.objective - py.objective) / py.objective).toExponential(1)];
    if (typeof py !== 'string') versions = `numpy ${py.numpy}, scipy ${py.scipy}`;
    else console.log(`# ${py}`);
    console.log(
      `| ${n} | ${fmt(seconds)} | ${run.iterations} (${run.jacobianEvaluations} / ${run.functionEvaluations}) | ${cells[0]} | ${cells[1]} | ${cells[2]} | ${run.objective.toExponential(6)} | ${cells[3]} | ${fmt(flops / seconds / 1e9)} | ${(flops / seconds / peakRate).toFixed(2)} |`,
    );
  }
  if (versions) console.log(`reference: ${versions} (scipy.optimize.least_squares, method='lm', analytic Jacobian)`);

  // --- VAPT prompt mixture (TypeScript only) ---
  const vapt = promptMixture({ kind: 'vapt', tokens: 16, width: 8, dk: 4, dv: 4, atoms: 4, grid: [4, 4], kernel: 2, seed: 7 });
  const vTruth = randomTruth(vapt, makeRng(3));
  const vTheta = vapt.fromMeasure(vTruth);
  console.log(`\n## VAPT prompt mixture (N = 16 tokens on 4 x 4, d = 8, dk = dv = 4, L = 4): ${vapt.nParams} parameters, ${vapt.outputDim} outputs; sigma = 0.1; start = truth + 0.05 N(0, I)`);
  console.log('| n | TS LM s | iters (J / f evals) | s per iteration | objective | GFLOP/s | fraction of measured peak |');
  console.log('|---|---|---|---|---|---|---|');
  for (const n of NS) {
    const rng = makeRng(100 + n);
    const X = vapt.sampleInputs(n, rng);
    const s = sampleResponses(vapt, vTheta, X, 0.1, rng);
    const theta0 = Float64Array.from(vTheta, (v) => v + 0.05 * rng.normal());
    const { run, seconds } = timeFits(vapt, s, theta0, n >= 10_000 ? 1 : 2);
    const flops = fitFlops(vapt, n, run);
    console.log(`| ${n} | ${fmt(seconds)} | ${run.iterations} (${run.jacobianEvaluations} / ${run.functionEvaluations}) | ${fmt(seconds / run.iterations)} | ${run.objective.toExponential(6)} | ${fmt(flops / seconds / 1e9)} | ${(flops / seconds / peakRate).toFixed(2)} |`);
  }
  console.log(`\ntotal benchmark time ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main();
