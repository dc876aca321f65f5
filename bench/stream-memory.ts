/**
 * Peak memory of a streamed least-squares fit (not a test; `node dist/bench/stream-memory.js [n]`):
 * a small softmax-gated MoE (2 atoms, d = 2, affine experts, 9 parameters) simulated at n
 * (default 1e7) and fitted by LM for a few iterations. The normal equations stream over blocks
 * (O(P^2 + P blockRows) memory), so the peak RSS is the samples (n (d + 1) float64) plus the
 * runtime, whatever n. Prints n, the samples' bytes, the peak RSS and seconds per iteration.
 */
import { leastSquares } from '../src/estimate/least-squares.js';
import { softmaxMoe } from '../src/mixture/softmax-moe.js';
import { sampleResponses } from '../src/mixture/sample.js';
import { makeRng } from '../src/util/rng.js';

const n = Number(process.argv[2] ?? 1e7);
const fam = softmaxMoe({ atoms: 2, inputDim: 2, gate: { kind: 'affine' }, expert: { kind: 'affine' }, anchor: 'last' });
const rng = makeRng(1);
const truth = fam.sampleTheta(rng);
const X = new Float64Array(n * 2);
for (let k = 0; k < X.length; k++) X[k] = rng.normal();
const s = sampleResponses(fam, truth, X, 0.1, rng);
const theta0 = Float64Array.from(truth, (v) => v + 0.1 * rng.normal());
const t0 = performance.now();
const run = leastSquares({ maxIterations: 3, ftol: 0, gtol: 0, xtol: 0 }).fitFrom(fam, s, theta0);
const sec = (performance.now() - t0) / 1000;
const mib = (b: number): string => (b / 2 ** 20).toFixed(0);
console.log(
  `n ${n}; ${fam.nParams} parameters; samples ${mib(X.byteLength + s.Y.byteLength)} MiB; peak RSS ${mib(process.resourceUsage().maxRSS * 1024)} MiB; ` +
    `${run.iterations} iterations in ${sec.toFixed(1)} s (${(sec / run.iterations).toFixed(2)} s each); objective ${run.objective.toExponential(4)}`,
);
