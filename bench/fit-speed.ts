/**
 * Benchmark (npm run bench; not a test): time per Levenberg-Marquardt fit against n, side by
 * side with an independent numpy + scipy reference (bench/scipy_ref.py, MINPACK lmder with its
 * analytic Jacobian) on the same data and the same start, and the achieved arithmetic rate
 * against a measured peak of this machine's float64 arithmetic (JavaScript kernels and the SIMD fold).
 *
 * Models:
 *   moe   softmax-gated MoE, 4 atoms, d = 4, affine gates (last anchored), tanh experts
 *         V tanh(W x + c) + v0 (one hidden unit): 43 parameters (scipy reference on the same data)
 *   vpt, vapt  the prompt mixtures of src/mixture/prompt-mixture.ts at the vpt-vs-vapt study's
 *         shape (N = d = dk = dv = 4, L = 3; vapt kernel 1, r = 4), against bench/scipy_prompt_ref.py
 *   vapt-40  the VAPT prompt mixture with 4 x 4 tokens, d = 8, dk = dv = 4, 4 atoms (40
 *         parameters, 4 outputs): arithmetic rate against the measured peak (TypeScript only)
 *   fold  the J^T J fold alone (src/linalg/gram-fold.ts: the f64x2 WebAssembly kernel and the
 *         JavaScript reference) at the study's column counts, and one LM pass with either fold at
 *         the study shapes (vpt 15, kv 27, vapt 15 parameters; the 40-parameter VAPT)
 *   em    one EM iteration of a Gaussian-gated mixture (the published type-I data, d = 1, k* = 3,
 *         fitted with k = 5), against the vectorised numpy iteration of bench/numpy_em_ref.py
 * Flags: --quick (n <= 1e4, 3 rounds); --only SECTION[,SECTION] (moe, prompt, vapt40, fold, em); env BENCH_NS, BENCH_PROMPT_NS, BENCH_ROUNDS, PYTHON, and
 * PROMPT_EXPERTS_FOLD ('wasm' | 'js') for the fold of every fit outside the fold section,
 * PROMPT_EXPERTS_EM ('wasm' | 'js' | 'general') for the EM row's main pass.
 * Times are medians of ROUNDS (5; 3 with --quick) interleaved rounds, each side single-threaded.
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
import { foldGramJs, resolveFold, WasmGramFold, wasmFoldStatus, type FoldKind } from '../src/linalg/gram-fold.js';
import { softmaxMoe } from '../src/mixture/softmax-moe.js';
import { promptMixture, randomTruth, type PromptMixtureFamily } from '../src/mixture/prompt-mixture.js';
import { sampleResponses, simulate } from '../src/mixture/sample.js';
import type { RegressionFamily, Samples } from '../src/mixture/family.js';
import { makeRng } from '../src/util/rng.js';
import { emIteration, perturbedStart, resolveEmPass, type EmPassKind } from '../src/estimate/em-gaussian-gated.js';
import { PUBLISHED_TYPE_I, sampleGaussianGated } from '../src/mixture/gaussian-gated.js';

const QUICK = process.argv.includes('--quick');
/** `--only moe,prompt,vapt40,fold,em`: run only the named sections (default all). */
const ONLY_AT = process.argv.indexOf('--only');
const ONLY = ONLY_AT >= 0 ? new Set((process.argv[ONLY_AT + 1] ?? '').split(',')) : null;
const SECTIONS = ['moe', 'prompt', 'vapt40', 'fold', 'em'];
if (ONLY !== null) for (const x of ONLY) if (!SECTIONS.includes(x)) throw new Error(`--only: unknown section ${JSON.stringify(x)} (sections: ${SECTIONS.join(', ')})`);
const want = (section: string): boolean => ONLY === null || ONLY.has(section);
const NS = (process.env.BENCH_NS ?? (QUICK ? '1000,10000' : '1000,10000,100000')).split(',').map(Number);
/** Sample sizes of the prompt-mixture rows (the targets are stated at 1e4 and 1e5). */
const PROMPT_NS = (process.env.BENCH_PROMPT_NS ?? (QUICK ? '10000' : '10000,100000')).split(',').map(Number);
const TOL = 1e-12;
/** Interleaved rounds (TS fit, then the scipy fit, then the next round); medians are reported. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 3 : 5));
/** The Python side runs single-threaded, as the TypeScript side does. */
const PY_ENV = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1', VECLIB_MAXIMUM_THREADS: '1', NUMEXPR_NUM_THREADS: '1' };

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

/**
 * The J^T J fold alone on one block (P columns, all dense, B = 64 rows as the LM's blocks):
 * GFLOP/s of the JavaScript and the WebAssembly fold, counting the useful 2 B (P + P (P + 1) / 2)
 * flops per block, medians of `rounds` interleaved timings of about 0.2 s each.
 */
function foldRates(P: number, rounds: number): { js: number; wasm: number } {
  const B = 64;
  const cols = Int32Array.from({ length: P }, (_, k) => k);
  const w = new WasmGramFold(P, B, cols);
  for (let i = 0; i < P * B; i++) w.JT[i] = Math.sin(i);
  for (let i = 0; i < B; i++) w.r[i] = Math.cos(i);
  const A = new Float64Array(P * P);
  const g = new Float64Array(P);
  const flops = 2 * B * (P + (P * (P + 1)) / 2);
  const reps = Math.max(1, Math.round(2e8 / flops));
  const time = (f: () => void): number => {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) f();
    return (reps * flops) / ((performance.now() - t0) / 1000);
  };
  const js = (): void => foldGramJs(w.JT, w.r, B, B, cols, P, A, g);
  const wasm = (): void => w.fold(B);
  time(js);
  time(wasm);
  const rj: number[] = [];
  const rw: number[] = [];
  for (let r = 0; r < rounds; r++) {
    rj.push(time(js));
    rw.push(time(wasm));
  }
  return { js: median(rj), wasm: median(rw) };
}

/** Flops of one LM fit: the LM's own (counted) + the Jacobian passes (the prepared path's estimate when the family has one). */
function fitFlops(family: RegressionFamily & { flopsPerJacobian: number }, n: number, run: LmRun): number {
  const perJacobian = family.prepare?.({ n: 1, inputDim: family.inputDim, outputDim: family.outputDim, X: new Float64Array(family.inputDim), Y: new Float64Array(family.outputDim) }).flopsPerJacobian ?? family.flopsPerJacobian;
  return run.flops + run.jacobianEvaluations * n * perJacobian;
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : 0.5 * ((s[m - 1] as number) + (s[m] as number));
};

function timeFit(family: RegressionFamily, samples: Samples, theta0: Float64Array, maxIterations = 2000, fold?: FoldKind, tol = TOL): { run: LmRun; seconds: number } {
  const lm = leastSquares({ ftol: tol, gtol: tol, xtol: tol, maxIterations, ...(fold === undefined ? {} : { fold }) });
  const t0 = performance.now();
  const run = lm.fitFrom(family, samples, theta0);
  return { run, seconds: (performance.now() - t0) / 1000 };
}

interface ScipyResult {
  objective: number;
  seconds: number;
  nfev: number;
  njev: number;
  status: number;
  perJacobian?: number;
  numpy: string;
  scipy: string;
}

const bytes = (a: Float64Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Write the data set (and any extra float64 arrays) to a temporary folder for a Python reference. */
function writeProblem(samples: Samples, theta0: Float64Array, meta: Record<string, unknown>, extra: Record<string, Float64Array> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'pe-bench-'));
  writeFileSync(join(dir, 'X.bin'), bytes(samples.X));
  writeFileSync(join(dir, 'Y.bin'), bytes(samples.Y));
  writeFileSync(join(dir, 'theta0.bin'), bytes(theta0));
  for (const [k, v] of Object.entries(extra)) writeFileSync(join(dir, `${k}.bin`), bytes(v));
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ ...meta, n: samples.n, tol: TOL, maxNfev: 4000 }));
  return dir;
}

/** Run a Python reference on a problem folder; its last stdout line is JSON. */
function runPython<T>(script: string, dir: string): T | string {
  try {
    const path = fileURLToPath(new URL(`../../bench/${script}`, import.meta.url));
    const out = execFileSync(process.env.PYTHON ?? 'python3', [path, dir], { encoding: 'utf8', maxBuffer: 1 << 26, env: PY_ENV });
    return JSON.parse(out.trim().split('\n').pop() as string) as T;
  } catch (e) {
    return `python reference unavailable (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
  }
}

const fmt = (x: number, digits = 3): string => (x >= 100 ? x.toFixed(0) : x.toPrecision(digits));

/** The pretrained weights and shape of a prompt mixture, for bench/scipy_prompt_ref.py. */
function promptProblem(fam: PromptMixtureFamily): { meta: Record<string, unknown>; extra: Record<string, Float64Array> } {
  const c = fam.config;
  const { head, kernel, W1, W2 } = fam.pretrained;
  const extra: Record<string, Float64Array> = { WQ: head.WQ.data, WK: head.WK.data, WV: head.WV.data };
  if (kernel !== null && W1 !== null && W2 !== null) Object.assign(extra, { kernel: kernel.data, W1: W1.data, W2: W2.data });
  if (c.layerNorm) throw new Error('bench/scipy_prompt_ref.py has no LayerNorm');
  return {
    meta: { kind: c.kind, N: c.tokens, d: c.width, dk: c.dk, dv: c.dv, L: c.atoms, grid: c.grid, kernel: c.kernel, padding: c.padding, rank: c.rank, residual: c.residual },
    extra,
  };
}

function main(): void {
  const started = performance.now();
  console.log(`# prompt-experts fit-speed benchmark${QUICK ? ' (--quick)' : ''}`);
  console.log(`date ${new Date().toISOString()}; node ${process.version}; ${cpus()[0]?.model ?? 'unknown cpu'} x ${cpus().length}; ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ${ROUNDS} interleaved rounds, medians; Python single-threaded (OMP/OPENBLAS/MKL_NUM_THREADS=1)`);
  // The peak is the yardstick of the moe and vapt40 rows only.
  const needPeak = want('moe') || want('vapt40');
  const peak = needPeak ? measurePeak() : { dot: 0, blocked: 0, matmul: 0 };
  // The SIMD fold on a 40-column block counts as a kernel of this process too (f64x2 WebAssembly).
  const ws = wasmFoldStatus();
  const simd = ws.available && needPeak ? foldRates(40, 3).wasm : 0;
  const peakRate = Math.max(peak.dot, peak.blocked, peak.matmul, simd);
  if (needPeak) {
    console.log(
      `measured float64 peak (one core): JS dot ${fmt(peak.dot / 1e9)} GFLOP/s, JS 2x2-blocked dot ${fmt(peak.blocked / 1e9)} GFLOP/s, JS matmul ${fmt(peak.matmul / 1e9)} GFLOP/s, wasm f64x2 fold (P = 40) ${ws.available ? fmt(simd / 1e9) : 'n/a'} GFLOP/s; peak used: ${fmt(peakRate / 1e9)} GFLOP/s`,
    );
  }
  console.log(`J^T J fold of the fits below (PROMPT_EXPERTS_FOLD or default): ${resolveFold()}${ws.available ? '' : ` (WebAssembly kernel unavailable: ${ws.reason})`}`);
  let versions = '';

  // --- softmax MoE against scipy ---
  if (want('moe')) {
    const L = 4;
    const d = 4;
    const hidden = 1;
    const moe = softmaxMoe({ atoms: L, inputDim: d, gate: { kind: 'affine' }, expert: { kind: 'mlp', activation: 'tanh', hidden }, anchor: 'last' });
    // The same family without its prepared form: the per-sample predict / jacobian path, timed in the same rounds.
    const moePlain: RegressionFamily = { ...moe, prepare: undefined };
    const truthTheta = moe.sampleTheta(makeRng(11));
    const truth = moe.toMeasure(truthTheta);
    console.log(`\n## ${moe.name}: ${moe.nParams} parameters; sigma = 0.1; x ~ N(0, I); start = truth + 0.2 N(0, I); ftol = xtol = gtol = ${TOL}`);
    console.log('TS LM s: the prepared family (softmax-moe-prepared.ts); TS plain s: the per-sample predict / jacobian path, same rounds (its speed-up vs scipy in brackets); speed-up: median [min, max] over rounds of the per-round ratio');
    console.log('| n | TS LM s | TS plain s | TS iters (J / f evals) | scipy lm s | scipy nfev / njev | speed-up vs scipy | TS objective | rel. diff vs scipy | GFLOP/s | fraction of measured peak |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    {
      // Warm the JIT once on a small problem.
      const s = simulate({ family: moe, truth, inputs: { kind: 'gaussian', dim: d }, n: 2000, sigma: 0.1, rng: makeRng(1) });
      timeFit(moe, s, truthTheta);
      timeFit(moePlain, s, truthTheta);
    }
    for (const n of NS) {
      const s = simulate({ family: moe, truth, inputs: { kind: 'gaussian', dim: d }, n, sigma: 0.1, rng: makeRng(n) });
      const rng = makeRng(n + 1);
      const theta0 = Float64Array.from(truthTheta, (v) => v + 0.2 * rng.normal());
      const dir = writeProblem(s, theta0, { d, atoms: L, hidden, reps: 1 });
      const ts: number[] = [];
      const tp: number[] = [];
      const py: number[] = [];
      let run: LmRun | undefined;
      let ref: ScipyResult | string = 'not run';
      try {
        for (let r = 0; r < ROUNDS; r++) {
          const t = timeFit(moe, s, theta0);
          ts.push(t.seconds);
          run = t.run;
          tp.push(timeFit(moePlain, s, theta0).seconds);
          ref = runPython<ScipyResult>('scipy_ref.py', dir);
          if (typeof ref !== 'string') py.push(ref.seconds);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const b = run as LmRun;
      const seconds = median(ts);
      const flops = fitFlops(moe, n, b);
      const cells =
        typeof ref === 'string'
          ? ['n/a', 'n/a', 'n/a', 'n/a']
          : [fmt(median(py)), `${ref.nfev} / ${ref.njev}`, `${(median(py) / seconds).toFixed(2)}x [${Math.min(...py.map((v, r) => v / (ts[r] as number))).toFixed(2)}, ${Math.max(...py.map((v, r) => v / (ts[r] as number))).toFixed(2)}]`, (Math.abs(b.objective - ref.objective) / ref.objective).toExponential(1)];
      if (typeof ref !== 'string') versions = `numpy ${ref.numpy}, scipy ${ref.scipy}`;
      else console.log(`# ${ref}`);
      const plainCell = typeof ref === 'string' ? fmt(median(tp)) : `${fmt(median(tp))} (${(median(py) / median(tp)).toFixed(2)}x)`;
      console.log(
        `| ${n} | ${fmt(seconds)} | ${plainCell} | ${b.iterations} (${b.jacobianEvaluations} / ${b.functionEvaluations}) | ${cells[0]} | ${cells[1]} | ${cells[2]} | ${b.objective.toExponential(6)} | ${cells[3]} | ${fmt(flops / seconds / 1e9)} | ${(flops / seconds / peakRate).toFixed(2)} |`,
      );
    }
    if (versions) console.log(`reference: ${versions} (scipy.optimize.least_squares, method='lm', analytic Jacobian)`);
  }

  // --- prompt mixtures (study shape) against scipy ---
  if (want('prompt')) {
    console.log(`\n## prompt mixtures at the vpt-vs-vapt study's shape (N = d = dk = dv = 4, L = 3; vapt kernel 1, r = 4); sigma = 0.1; start = truth + 0.05 N(0, I); same tolerances`);
    console.log('| model | n | P | TS LM s | TS iters (J / f evals) | TS s per J pass | scipy lm s | scipy nfev / njev | scipy s per fun+jac | speed-up (fit) | speed-up (per pass) | rel. diff of objectives |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const kind of ['vpt', 'vapt'] as const) {
      const fam = promptMixture({ kind, tokens: 4, width: 4, dk: 4, dv: 4, atoms: 3, seed: 7, ...(kind === 'vapt' ? { kernel: 1, rank: 4 } : {}) });
      const { meta, extra } = promptProblem(fam);
      const tTheta = fam.fromMeasure(randomTruth(fam, makeRng(3)));
      for (const n of PROMPT_NS) {
        const rng = makeRng(200 + n);
        const s = sampleResponses(fam, tTheta, fam.sampleInputs(n, rng), 0.1, rng);
        const theta0 = Float64Array.from(tTheta, (v) => v + 0.05 * rng.normal());
        const dir = writeProblem(s, theta0, meta, extra);
        const ts: number[] = [];
        const py: number[] = [];
        const pyPer: number[] = [];
        let run: LmRun | undefined;
        let ref: ScipyResult | string = 'not run';
        try {
          for (let r = 0; r < ROUNDS; r++) {
            const t = timeFit(fam, s, theta0);
            ts.push(t.seconds);
            run = t.run;
            ref = runPython<ScipyResult>('scipy_prompt_ref.py', dir);
            if (typeof ref !== 'string') {
              py.push(ref.seconds);
              pyPer.push(ref.perJacobian ?? NaN);
            }
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
        const b = run as LmRun;
        const seconds = median(ts);
        // Seconds per Jacobian pass: the fit time over its passes (f-only passes counted as one pass each, an upper bound).
        const perPass = seconds / (b.jacobianEvaluations + b.functionEvaluations);
        if (typeof ref === 'string') console.log(`# ${ref}`);
        const cells =
          typeof ref === 'string'
            ? ['n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a']
            : [fmt(median(py)), `${ref.nfev} / ${ref.njev}`, fmt(median(pyPer)), `${(median(py) / seconds).toFixed(2)}x`, `${(median(pyPer) / perPass).toFixed(2)}x`, (Math.abs(b.objective - ref.objective) / ref.objective).toExponential(1)];
        console.log(`| ${kind} | ${n} | ${fam.nParams} | ${fmt(seconds)} | ${b.iterations} (${b.jacobianEvaluations} / ${b.functionEvaluations}) | ${fmt(perPass)} | ${cells.join(' | ')} |`);
      }
    }
  }

  // --- VAPT prompt mixture, 40 parameters: arithmetic rate (TypeScript only) ---
  const vapt = promptMixture({ kind: 'vapt', tokens: 16, width: 8, dk: 4, dv: 4, atoms: 4, grid: [4, 4], kernel: 2, seed: 7 });
  if (want('vapt40')) {
    const vTheta = vapt.fromMeasure(randomTruth(vapt, makeRng(3)));
    const capIt = 10;
    console.log(`\n## VAPT prompt mixture (N = 16 tokens on 4 x 4, d = 8, dk = dv = 4, L = 4): ${vapt.nParams} parameters, ${vapt.outputDim} outputs; sigma = 0.1; start = truth + 0.05 N(0, I); at most ${capIt} iterations (the rate, not the fit)`);
    console.log('| n | TS LM s | iters (J / f evals) | s per iteration | GFLOP/s | fraction of measured peak |');
    console.log('|---|---|---|---|---|---|');
    for (const n of PROMPT_NS) {
      const rng = makeRng(100 + n);
      const s = sampleResponses(vapt, vTheta, vapt.sampleInputs(n, rng), 0.1, rng);
      const theta0 = Float64Array.from(vTheta, (v) => v + 0.05 * rng.normal());
      const ts: number[] = [];
      let run: LmRun | undefined;
      for (let r = 0; r < ROUNDS; r++) {
        const t = timeFit(vapt, s, theta0, capIt);
        ts.push(t.seconds);
        run = t.run;
      }
      const b = run as LmRun;
      const seconds = median(ts);
      const flops = fitFlops(vapt, n, b);
      console.log(`| ${n} | ${fmt(seconds)} | ${b.iterations} (${b.jacobianEvaluations} / ${b.functionEvaluations}) | ${fmt(seconds / b.iterations)} | ${fmt(flops / seconds / 1e9)} | ${(flops / seconds / peakRate).toFixed(2)} |`);
    }
  }

  // --- the J^T J fold: WebAssembly against JavaScript ---
  if (ws.available && want('fold')) {
    console.log(`\n## J^T J fold alone: one block of B = 64 rows, all P columns dense (GFLOP/s, useful flops 2 B (P + P (P + 1) / 2))`);
    console.log('| P | JS fold GFLOP/s | wasm fold GFLOP/s | speed-up |');
    console.log('|---|---|---|---|');
    for (const P of [15, 27, 40, 43]) {
      const r = foldRates(P, ROUNDS);
      console.log(`| ${P} | ${fmt(r.js / 1e9)} | ${fmt(r.wasm / 1e9)} | ${(r.wasm / r.js).toFixed(2)}x |`);
    }
    // One LM pass at the study shapes: (time of a 6-iteration fit - time of a 2-iteration fit) / (their
    // difference in passes), tolerances 0 so that every fit runs its iterations; start truth + 0.3 N(0, I).
    const nPass = PROMPT_NS[PROMPT_NS.length - 1] as number;
    console.log(`\n## one LM pass (J^T J, J^T r and the family's prepared Jacobian) with either fold, n = ${nPass}: (t(6 iterations) - t(2 iterations)) / passes between`);
    console.log('| model | P | JS fold s per pass | wasm fold s per pass | speed-up |');
    console.log('|---|---|---|---|---|');
    const shapes: Array<[string, PromptMixtureFamily]> = [
      ['vpt', promptMixture({ kind: 'vpt', tokens: 4, width: 4, dk: 4, dv: 4, atoms: 3, seed: 7 })],
      ['kv', promptMixture({ kind: 'kv', tokens: 4, width: 4, dk: 4, dv: 4, atoms: 3, seed: 7 })],
      ['vapt', promptMixture({ kind: 'vapt', tokens: 4, width: 4, dk: 4, dv: 4, atoms: 3, seed: 7, kernel: 1, rank: 4 })],
      ['vapt-40', vapt],
    ];
    for (const [name, fam] of shapes) {
      const rng = makeRng(400);
      const tTheta = fam.fromMeasure(randomTruth(fam, makeRng(3)));
      const s = sampleResponses(fam, tTheta, fam.sampleInputs(nPass, rng), 0.1, rng);
      const theta0 = Float64Array.from(tTheta, (v) => v + 0.3 * rng.normal());
      const per: Record<FoldKind, number[]> = { js: [], wasm: [] };
      for (let r = 0; r < ROUNDS; r++) {
        for (const fold of ['js', 'wasm'] as const) {
          const a = timeFit(fam, s, theta0, 2, fold, 0);
          const b = timeFit(fam, s, theta0, 6, fold, 0);
          const passes = b.run.jacobianEvaluations + b.run.functionEvaluations - a.run.jacobianEvaluations - a.run.functionEvaluations;
          per[fold].push((b.seconds - a.seconds) / passes);
        }
      }
      console.log(`| ${name} | ${fam.nParams} | ${fmt(median(per.js))} | ${fmt(median(per.wasm))} | ${(median(per.js) / median(per.wasm)).toFixed(2)}x |`);
    }
  }

  // --- one EM iteration, Gaussian-gated, against numpy ---
  if (want('em')) {
    const kEm = 5;
    const pass = resolveEmPass(1);
    console.log(`\n## EM iteration, Gaussian-gated mixture: published type-I data (d = 1, k* = 3), k = ${kEm} components, start = truth perturbed by 0.3`);
    console.log(`TS: \`emIteration\` (E and M step from the parameters, with its per-call setup: the wasm pass copies X and Y into the kernel's memory) with pass ${pass} (PROMPT_EXPERTS_EM or default), with the JS d = 1 pass and with the general-d JS pass (the code before the d = 1 passes), mean of 5 calls per round; numpy: median of 7 iterations per round; [min, max] over the rounds, and of the per-round ratios`);
    console.log(`| n | TS s per iteration (${pass}) | TS (js) | TS (general) | numpy s per iteration | speed-up vs numpy (${pass}) | (js) | (general) | max rel. diff of the next iterate (${pass} vs numpy) |`);
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const n of PROMPT_NS) {
      const rng = makeRng(300 + n);
      const s = sampleGaussianGated(PUBLISHED_TYPE_I, n, rng);
      const start = perturbedStart(PUBLISHED_TYPE_I, kEm, 0.3, 0.3, rng);
      const dir = writeProblem(s, start.pi, { d: start.d, k: kEm, reps: 7 }, { pi: start.pi, c: start.c, Gamma: start.Gamma, A: start.A, b: start.b, nu: start.nu });
      const ts: number[] = [];
      const tj: number[] = [];
      const tg: number[] = [];
      const py: number[] = [];
      let ref: { seconds: number; next: Record<string, number[]> } | string = 'not run';
      const perCall = (kind: EmPassKind): number => {
        const t0 = performance.now();
        for (let k = 0; k < 5; k++) emIteration(start, s, 1e-10, kind);
        return (performance.now() - t0) / 5 / 1000;
      };
      perCall('general'); // warm every path
      perCall('js');
      perCall(pass);
      try {
        for (let r = 0; r < ROUNDS; r++) {
          tg.push(perCall('general'));
          tj.push(perCall('js'));
          ts.push(perCall(pass));
          ref = runPython<{ seconds: number; next: Record<string, number[]> }>('numpy_em_ref.py', dir);
          if (typeof ref !== 'string') py.push(ref.seconds);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      if (typeof ref === 'string') {
        console.log(`# ${ref}`);
        continue;
      }
      const mine = emIteration(start, s, 1e-10, pass);
      let diff = 0;
      for (const key of ['pi', 'c', 'Gamma', 'A', 'b', 'nu'] as const) {
        const a = mine.next[key];
        const b = ref.next[key] ?? [];
        const scale = Math.max(1e-300, ...b.map(Math.abs));
        for (let t = 0; t < a.length; t++) diff = Math.max(diff, Math.abs((a[t] as number) - (b[t] ?? NaN)) / scale);
      }
      const ratio = (t: number[]): string => `${(median(py) / median(t)).toFixed(2)}x`;
      const spread = (t: number[]): string => `${fmt(median(t))} [${fmt(Math.min(...t))}, ${fmt(Math.max(...t))}]`;
      // per-round ratios numpy / TS (same round), their smallest and largest
      const perRound = ts.map((t, r) => (py[r] as number) / t);
      console.log(`| ${n} | ${spread(ts)} | ${fmt(median(tj))} | ${fmt(median(tg))} | ${spread(py)} | ${ratio(ts)} [${Math.min(...perRound).toFixed(1)}, ${Math.max(...perRound).toFixed(1)}] | ${ratio(tj)} | ${ratio(tg)} | ${diff.toExponential(1)} |`);
    }
  }
  console.log(`\ntotal benchmark time ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main();
