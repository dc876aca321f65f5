/**
 * Benchmark (not a test): Levenberg-Marquardt on the Gaussian-gated prompt mixtures of the
 * vpt-vs-vapt study, through the plain per-sample `jacobian` (the family with `prepare` removed:
 * the path these fits took before the prepared one existed) and through the prepared family, on
 * the same data and start, interleaved round by round.
 *
 *   node dist/bench/gaussian-prompt-speed.js [--ns 10000,100000] [--rounds 3] [--fits 10000]
 *        [--profile N]   (prepared path only, the over-specified variants at n = N: for --cpu-prof)
 *
 * Data and start are those of the study's cell (variant, n, rep 0) under the `fixed` protocol:
 * the runner's seed deriveSeed(study.seed, variant, n, rep), forked into the simulation and the
 * start as src/study/cell.ts does. Per LM iteration: (t(12 iterations) - t(2 iterations)) / 10
 * from the same start (the two paths take the same iterates, so the same passes); the intercept
 * t(2) - 2 x per-iteration is the once-per-fit part (validation, `prepare`, first pass). Per fit:
 * the study's whole fit (maxIterations from study.json) at the sizes in --fits. Times are CPU
 * seconds of this process (user + system), JIT warmed up on every variant first. Every pair of
 * fits is checked for equal objectives and theta (the largest relative difference is printed).
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leastSquares } from '../src/estimate/least-squares.js';
import { initialTheta, startPlan, type InitCapable } from '../src/estimate/init.js';
import type { RegressionFamily, Samples } from '../src/mixture/family.js';
import { deriveSeed, makeRng } from '../src/util/rng.js';
import { promptMixtureFamilies, promptMixtureKind } from '../src/study/kinds/prompt-mixture.js';

const here = dirname(fileURLToPath(import.meta.url));
const studyPath = join(here, '..', '..', 'experiments', 'vpt-vs-vapt', 'study.json');

interface StudyJson {
  seed: number;
  model: Record<string, unknown>;
  estimator: Record<string, unknown> & { maxIterations?: number };
  variants: { name: string; model: Record<string, unknown> }[];
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}

const study = JSON.parse(readFileSync(studyPath, 'utf8')) as StudyJson;
const NS = arg('ns', '10000,100000').split(',').filter((s) => s !== '').map(Number);
const FIT_NS = arg('fits', '10000').split(',').filter((s) => s !== '').map(Number);
const ROUNDS = Number(arg('rounds', '3'));
const PROFILE = Number(arg('profile', '0'));
const MAX_IT = study.estimator.maxIterations ?? 200;
const START = { protocol: 'fixed' as const, scale: 0.5 };

interface Case {
  readonly variant: string;
  readonly n: number;
  readonly samples: Samples;
  readonly prepared: RegressionFamily & InitCapable;
  readonly plain: RegressionFamily & InitCapable;
  readonly theta0: Float64Array;
}

function caseOf(variant: string, n: number): Case {
  const v = study.variants.find((x) => x.name === variant);
  if (v === undefined) throw new Error(`no variant ${variant}`);
  const model = { ...study.model, ...v.model };
  const cell = promptMixtureKind.build(model, { ...study.estimator, start: START }, variant);
  const { family } = promptMixtureFamilies(model, variant);
  const seed = deriveSeed(study.seed, variant, n, 0);
  const rng = makeRng(seed);
  const simRng = rng.fork();
  const fitRng = rng.fork();
  const { samples, truth } = cell.simulate(n, simRng);
  const prepared = family as RegressionFamily & InitCapable;
  const plain = { ...prepared, prepare: undefined };
  const plan = startPlan(START, truth, n);
  const theta0 = initialTheta(prepared, plan.init, fitRng);
  return { variant, n, samples, prepared, plain, theta0 };
}

function relDiff(a: Float64Array, b: Float64Array): number {
  let worst = 0;
  for (let k = 0; k < a.length; k++) {
    const x = a[k] as number;
    const y = b[k] as number;
    if (x !== y) worst = Math.max(worst, Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y)));
  }
  return worst;
}

/** CPU seconds of this process (user + system): steadier than wall time on a shared, loaded machine. */
const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : 0.5 * ((s[m - 1] as number) + (s[m] as number));
};

function timeRun(c: Case, fam: RegressionFamily, iterations: number): { s: number; objective: number; theta: Float64Array; passes: number } {
  const lm = leastSquares({ maxIterations: iterations, ftol: 0, gtol: 0, xtol: 0 });
  const t0 = cpuSeconds();
  const r = lm.fitFrom(fam, c.samples, c.theta0);
  return { s: cpuSeconds() - t0, objective: r.objective, theta: r.theta, passes: r.jacobianEvaluations + r.functionEvaluations };
}

const gaussian = study.variants.filter((v) => v.model.gate === 'gaussian').map((v) => v.name);

if (PROFILE > 0) {
  // Prepared path only, for `node --cpu-prof`: 20 iterations of each over-specified variant.
  for (const variant of gaussian.filter((v) => v.includes('over'))) {
    const c = caseOf(variant, PROFILE);
    const r = timeRun(c, c.prepared, 20);
    console.log(`${variant} n=${PROFILE}: 20 iterations in ${r.s.toFixed(2)} s`);
  }
  process.exit(0);
}

// Warm-up (JIT) of both paths on every variant before anything is timed.
for (const variant of gaussian) {
  const c = caseOf(variant, 2000);
  timeRun(c, c.plain, 3);
  timeRun(c, c.prepared, 3);
}

console.log(`# Gaussian-gated prompt mixtures: plain vs prepared least squares`);
console.log(`date ${new Date().toISOString()}; node ${process.version}; ${cpus()[0]?.model ?? '?'} x ${cpus().length}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${ROUNDS} interleaved rounds, medians`);
console.log('');
console.log('## Per LM iteration (CPU s): (t(12) - t(2)) / 10, same start, tolerances 0');
console.log('| variant | n | P | plain s / iter | prepared s / iter | speed-up | plain once | prepared once | max rel. diff (objective, theta) |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const n of NS) {
  for (const variant of gaussian) {
    const c = caseOf(variant, n);
    const per: Record<'plain' | 'prepared', number[]> = { plain: [], prepared: [] };
    const once: Record<'plain' | 'prepared', number[]> = { plain: [], prepared: [] };
    let worst = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const res: Record<string, { s: number; objective: number; theta: Float64Array }> = {};
      for (const path of ['plain', 'prepared'] as const) {
        const fam = path === 'plain' ? c.plain : c.prepared;
        const a = timeRun(c, fam, 2);
        const b = timeRun(c, fam, 12);
        const it = (b.s - a.s) / 10;
        per[path].push(it);
        once[path].push(a.s - 2 * it);
        res[path] = b;
      }
      const p = res.plain as { objective: number; theta: Float64Array };
      const q = res.prepared as { objective: number; theta: Float64Array };
      worst = Math.max(worst, relDiff(Float64Array.of(p.objective), Float64Array.of(q.objective)), relDiff(p.theta, q.theta));
    }
    const a = median(per.plain);
    const b = median(per.prepared);
    console.log(`| ${variant} | ${n} | ${c.prepared.nParams} | ${a.toPrecision(3)} | ${b.toPrecision(3)} | ${(a / b).toFixed(2)}x | ${median(once.plain).toPrecision(3)} | ${median(once.prepared).toPrecision(3)} | ${worst.toExponential(1)} |`);
  }
}

if (FIT_NS.length > 0) {
  console.log('');
  console.log(`## Whole fits: the study's cell (rep 0, fixed start), maxIterations ${MAX_IT}, CPU s`);
  console.log('| variant | n | iterations (J / f passes) | stop | plain s | prepared s | speed-up | max rel. diff (objective, theta) |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const n of FIT_NS) {
    for (const variant of gaussian) {
      const c = caseOf(variant, n);
      const secs: Record<'plain' | 'prepared', number[]> = { plain: [], prepared: [] };
      let worst = 0;
      let info = '';
      for (let round = 0; round < ROUNDS; round++) {
        const res: Record<string, { objective: number; theta: Float64Array }> = {};
        for (const path of ['plain', 'prepared'] as const) {
          const fam = path === 'plain' ? c.plain : c.prepared;
          const lm = leastSquares({ maxIterations: MAX_IT });
          const t0 = cpuSeconds();
          const r = lm.fitFrom(fam, c.samples, c.theta0);
          secs[path].push(cpuSeconds() - t0);
          res[path] = r;
          info = `${r.iterations} (${r.jacobianEvaluations} / ${r.functionEvaluations}) | ${r.stopReason}`;
        }
        const p = res.plain as { objective: number; theta: Float64Array };
        const q = res.prepared as { objective: number; theta: Float64Array };
        worst = Math.max(worst, relDiff(Float64Array.of(p.objective), Float64Array.of(q.objective)), relDiff(p.theta, q.theta));
      }
      const a = median(secs.plain);
      const b = median(secs.prepared);
      console.log(`| ${variant} | ${n} | ${info} | ${a.toPrecision(3)} | ${b.toPrecision(3)} | ${(a / b).toFixed(2)}x | ${worst.toExponential(1)} |`);
    }
  }
}
