/**
 * Speed of one planted-layer evaluation (not a test; `npm run bench:planted -- [--out FILE]`): a
 * random layer of the planted-layer study's shape (width 48, 3 heads, 17 tokens, L = 3 prompts,
 * the over-specified student), F and its gradient by the JavaScript pass and by the WebAssembly
 * pass (src/vit/planted-pass.wat; VPT-deep and key-value), at n = 100, 1000, 3162; and one
 * Gauss-Newton preconditioner refresh (32 images) with the head-sparse Gram matrix against the
 * plain row-by-row one. Each figure is the median of interleaved rounds; the two paths' results are
 * checked equal to the bit first. With --out FILE the table is written there (bench/PLANTED-RESULTS.md).
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { makeRng } from '../src/util/rng.js';
import { plantedLayer, type LayerWeights, type PlantedForm, type PlantedLayer } from '../src/vit/planted-layer.js';
import { gaussNewtonFactor, gramOfHeadSparse, gramRowByRow } from '../src/vit/planted-layer-fit.js';

const d = 48;
const H = 3;
const T = 17;
const L = 3;
const rounds = 5;
const rng = makeRng(20261208);
const g = (len: number, sd: number): Float64Array => Float64Array.from({ length: len }, () => sd * rng.normal());
const weights: LayerWeights = { d, heads: H, WQ: g(d * d, 1 / Math.sqrt(d)), WK: g(d * d, 1 / Math.sqrt(d)), WV: g(d * d, 1 / Math.sqrt(d)), bQ: g(d, 0.1), bK: g(d, 0.1), bV: g(d, 0.1) };

function layer(form: PlantedForm, n: number, X: Float64Array, wasm: boolean): PlantedLayer {
  if (wasm) delete process.env['PROMPT_EXPERTS_NO_WASM'];
  else process.env['PROMPT_EXPERTS_NO_WASM'] = '1';
  const l = plantedLayer({ n, T, d, X: X.subarray(0, n * T * d), grid: [4, 4] }, weights, { form, atoms: L });
  delete process.env['PROMPT_EXPERTS_NO_WASM'];
  return l;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

/** ms per call of each function: interleaved rounds (each round times `reps` calls of each), median over rounds. */
function timeInterleaved(fns: Array<() => void>, reps: number): number[] {
  for (const f of fns) for (let r = 0; r < reps; r++) f();
  const per = fns.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    fns.forEach((f, k) => {
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) f();
      (per[k] as number[]).push((performance.now() - t0) / reps);
    });
  }
  return per.map(median);
}

const ns = [100, 1000, 3162];
const X = g(Math.max(...ns) * T * d, 1);
const rows: string[] = [];
for (const form of ['kv', 'vpt-deep'] as const) {
  for (const n of ns) {
    const js = layer(form, n, X, false);
    const wa = layer(form, n, X, true);
    const theta = g(js.nParams, 1);
    const Y = g(n * T * d, 1);
    const oj = js.objective(Y);
    const ow = wa.objective(Y);
    const gj = new Float64Array(js.nParams);
    const gw = new Float64Array(js.nParams);
    if (!Object.is(oj.valueAndGradient(theta, gj), ow.valueAndGradient(theta, gw)) || !gj.every((v, i) => Object.is(v, gw[i]))) throw new Error(`${form} n = ${n}: the two passes differ`);
    const reps = Math.max(1, Math.round(3000 / n));
    const [tj, tw] = timeInterleaved([() => oj.valueAndGradient(theta, gj), () => ow.valueAndGradient(theta, gw)], reps) as [number, number];
    rows.push(`| ${form} | ${n} | ${js.nParams} | ${tj.toFixed(2)} | ${tw.toFixed(2)} | ${(tj / tw).toFixed(2)} |`);
    process.stderr.write(`${rows[rows.length - 1]}\n`);
  }
}

// One preconditioner refresh on 32 images (key-value, the form whose Jacobian is head-sparse).
const sub = layer('kv', 32, X, true);
const theta = g(sub.nParams, 1);
const m = sub.n * sub.outputDim;
const J = new Float64Array(sub.nParams * m);
{
  // The layer's own forward-difference Jacobian: each column touches the heads its parameter moves.
  const f0 = new Float64Array(m);
  const fk = new Float64Array(m);
  sub.predict(theta, f0);
  const t = Float64Array.from(theta);
  for (let k = 0; k < sub.nParams; k++) {
    t[k] = (theta[k] as number) + 1e-6;
    sub.predict(t, fk);
    t[k] = theta[k] as number;
    for (let r = 0; r < m; r++) J[k * m + r] = ((fk[r] as number) - (f0[r] as number)) / 1e-6;
  }
}
const P = sub.nParams;
const dense = (): Float64Array => gramRowByRow(J, P, m);
const a = dense();
const b = gramOfHeadSparse(J, P, m, d, H);
if (!a.every((v, i) => Object.is(v, b[i]))) throw new Error('the two Gram matrices differ');
const [tDense, tSparse] = timeInterleaved([dense, () => gramOfHeadSparse(J, P, m, d, H)], 1) as [number, number];
const [tRefresh] = timeInterleaved([() => gaussNewtonFactor(sub, theta)], 1) as [number];

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const out = [
  `Machine: ${cpus().length} cores (${cpu}), load average ${loadavg()[0]?.toFixed(1)} at the end; median of ${rounds} interleaved rounds.`,
  `Layer: width ${d}, ${H} heads, ${T} tokens, L = ${L} prompts (the over-specified student of experiments/vit-planted-layer).`,
  '',
  '| form | n | parameters | JavaScript pass ms | WebAssembly pass ms | speed-up |',
  '|---|---:|---:|---:|---:|---:|',
  ...rows,
  '',
  `Gauss-Newton refresh (key-value, 32 images, ${P} parameters): Gram matrix ${tDense.toFixed(0)} ms row by row, ${tSparse.toFixed(0)} ms head-sparse (equal to the bit); the whole refresh (Jacobian by forward differences, Gram, Cholesky) ${tRefresh.toFixed(0)} ms.`,
].join('\n');
console.log(out);
const at = process.argv.indexOf('--out');
if (at >= 0 && process.argv[at + 1] !== undefined) {
  const head = '# Planted-layer evaluation speed (`npm run bench:planted`)\n\nReal output of `npm run bench:planted -- --out bench/PLANTED-RESULTS.md`, written by bench/planted-layer-speed.ts.\n\n';
  writeFileSync(process.argv[at + 1] as string, `${head}${out}\n`);
}
