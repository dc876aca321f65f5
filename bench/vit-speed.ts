/**
 * ViT training speed per backend, and where the time goes (issue 4, item 9). Not a test.
 *
 *   npm run bench:vit                          every backend that initialises here
 *   npm run bench:vit -- --backends wasm,cpu --batch 64 --steps 8 --out bench/VIT-RESULTS.md
 *
 * For a small ViT (MNIST-sized, TINY_VIT) and each method (VPT-deep, E2VPT, VAPT, linear probe,
 * full fine-tuning) it times, after warm-up steps:
 *   forward      the loss alone
 *   fwd+bwd      loss and gradients (tf.variableGrads)
 *   step         gradients plus the SGD-momentum update (what a trainer does per batch)
 * so backward = fwd+bwd - forward and optimizer = step - fwd+bwd; images/s = batch / step.
 * Each figure is the fastest of the timed rounds. Every timing ends by reading the loss back (await data()), so asynchronous backends (WebGPU)
 * are timed to completion. Then tf.profile on one training step lists the kernels that take the
 * most time on that backend. On wasm it also times every method with tfjs' own matMul gradient
 * (rows 'wasm, tfjs matMul grad'), against the explicit-transpose gradient src/vit/fast-matmul.ts
 * installs (--no-compare-grad to skip).
 */
import * as tf from '@tensorflow/tfjs';
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { withDefaults } from '../src/prompts/config.js';
import {
  createMethod,
  crossEntropy,
  disposeVit,
  initVit,
  selectBackend,
  TINY_VIT,
  type BackendInfo,
  type BackendRequest,
  type MethodSpec,
  type VitConfig,
} from '../src/vit/index.js';
import { restoreTfjsMatMulGradient, useExplicitTransposeMatMulGradient } from '../src/vit/fast-matmul.js';

interface Args {
  backends: BackendRequest[];
  batch: number;
  steps: number;
  out: string | null;
  methods: string[];
  /** Also time wasm with tfjs' own matMul gradient (transpose flags). */
  compareGrad: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { backends: ['cpu', 'wasm', 'node-gpu', 'webgpu'], batch: 64, steps: 6, out: null, methods: [], compareGrad: true };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1] ?? '';
    if (k === '--backends') a.backends = v.split(',') as BackendRequest[];
    else if (k === '--batch') a.batch = Number(v);
    else if (k === '--steps') a.steps = Number(v);
    else if (k === '--out') a.out = v;
    else if (k === '--methods') a.methods = v.split(',');
    else if (k === '--no-compare-grad') {
      a.compareGrad = false;
      continue;
    }
    else throw new Error(`unknown argument ${k} (use --backends, --batch, --steps, --out, --methods, --no-compare-grad)`);
    i++;
  }
  return a;
}

const SPECS: MethodSpec[] = [
  { name: 'vpt-deep', config: withDefaults({ kind: 'vpt', prompts: 10 }) },
  { name: 'e2vpt', config: withDefaults({ kind: 'e2vpt', visualPrompts: 10, kvPrompts: 5 }) },
  { name: 'vapt', config: withDefaults({ kind: 'vapt', prompts: 10 }) },
  { name: 'linear-probe' },
  { name: 'full-finetune' },
];

interface Row {
  backend: string;
  device: string;
  method: string;
  forwardMs: number;
  fwdBwdMs: number;
  stepMs: number;
  imagesPerSecond: number;
  tunable: number;
}

async function once(f: () => tf.Scalar): Promise<number> {
  const t0 = performance.now();
  const s = f();
  await s.data();
  s.dispose();
  return performance.now() - t0;
}

/** The fastest round: other processes only ever add time, so the minimum is the steadiest estimate on a shared machine. */
function fastest(xs: number[]): number {
  return Math.min(...xs);
}

/**
 * Fastest milliseconds of each function over `steps` rounds. The functions run interleaved
 * (f1, f2, f3, f1, f2, f3, ...) so that a change in the machine's load hits all of them alike.
 */
async function timeInterleaved(steps: number, fs: Array<() => tf.Scalar>): Promise<number[]> {
  const ms: number[][] = fs.map(() => []);
  for (let i = 0; i < steps; i++) for (let j = 0; j < fs.length; j++) (ms[j] as number[]).push(await once(fs[j] as () => tf.Scalar));
  return ms.map(fastest);
}

async function benchBackend(req: BackendRequest, cfg: VitConfig, args: Args, label: string = req): Promise<{ info: BackendInfo; rows: Row[]; profile: string[] } | null> {
  const info = await selectBackend(req, { log: () => {} });
  if (info.backend !== req) {
    console.error(`# ${req}: not available (${info.fallbacks.join('; ')})`);
    return null;
  }
  if (label !== req) restoreTfjsMatMulGradient();
  console.error(`# ${label}: ${info.device}`);
  const backbone = initVit(cfg, 1, false);
  const x = tf.randomUniform([args.batch, cfg.imageSize, cfg.imageSize, cfg.channels], 0, 1, 'float32', 2) as tf.Tensor4D;
  const y = tf.tensor1d(Array.from({ length: args.batch }, (_, i) => i % cfg.classes));
  const rows: Row[] = [];
  let profile: string[] = [];
  const steps = req === 'cpu' || req === 'webgpu' ? Math.max(3, Math.floor(args.steps / 3)) : args.steps;
  for (const spec of SPECS.filter((s) => args.methods.length === 0 || args.methods.includes(s.name))) {
    const m = createMethod(backbone, spec, { classes: cfg.classes, seed: 3 });
    const vars = m.trainableVariables();
    const opt = tf.train.momentum(0.01, 0.9);
    const loss = () => crossEntropy(m.forward(x), y);
    const fwd = () => tf.tidy(loss);
    const fwdBwd = () => {
      const g = tf.variableGrads(loss, vars);
      tf.dispose(Object.values(g.grads));
      return g.value;
    };
    const step = () => opt.minimize(loss, true, vars) as tf.Scalar;
    await timeInterleaved(2, [fwd, fwdBwd, step]); // warm-up: kernels compiled, optimizer slots made
    const [forwardMs, fwdBwdMs, stepMs] = (await timeInterleaved(steps, [fwd, fwdBwd, step])) as [number, number, number];
    rows.push({
      backend: label,
      device: info.device,
      method: spec.name,
      forwardMs,
      fwdBwdMs,
      stepMs,
      imagesPerSecond: (args.batch * 1000) / stepMs,
      tunable: m.tunableParameters,
    });
    console.error(`#   ${spec.name}: ${stepMs.toFixed(1)} ms/step, ${((args.batch * 1000) / stepMs).toFixed(0)} images/s`);
    if (spec.name === 'vapt') {
      const p = await tf.profile(async () => {
        const s = step();
        await s.data();
        s.dispose();
      });
      const byKernel = new Map<string, { ms: number; n: number }>();
      let total = 0;
      for (const k of p.kernels) {
        const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
        total += ms;
        const e = byKernel.get(k.name) ?? { ms: 0, n: 0 };
        e.ms += ms;
        e.n += 1;
        byKernel.set(k.name, e);
      }
      profile = [...byKernel.entries()]
        .sort((a, b) => b[1].ms - a[1].ms)
        .slice(0, 8)
        .map(([name, e]) => `${name} ${e.ms.toFixed(1)} ms (${e.n} calls, ${total > 0 ? ((100 * e.ms) / total).toFixed(0) : '?'}%)`);
      profile.unshift(`kernels of one VAPT training step: ${p.kernels.length} calls, ${total.toFixed(1)} ms kernel time in all`);
    }
    opt.dispose();
    m.dispose();
  }
  tf.dispose([x, y]);
  disposeVit(backbone);
  if (label !== req) useExplicitTransposeMatMulGradient();
  return { info: { ...info, backend: info.backend }, rows, profile: label === req ? profile : [] };
}

function table(rows: Row[]): string {
  const lines = [
    '| backend | method | tunable params | forward ms | backward ms | optimizer ms | step ms | images/s |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.backend} | ${r.method} | ${r.tunable} | ${r.forwardMs.toFixed(1)} | ${(r.fwdBwdMs - r.forwardMs).toFixed(1)} | ${(r.stepMs - r.fwdBwdMs).toFixed(1)} | ${r.stepMs.toFixed(1)} | ${r.imagesPerSecond.toFixed(0)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cfg = TINY_VIT;
  const results: Array<{ info: BackendInfo; rows: Row[]; profile: string[] }> = [];
  const loadBefore = os.loadavg()[0] as number;
  const all2: Row[] = [];
  // WebGPU last: its tensors cannot be read back synchronously, so nothing moves back from it.
  const order = [...args.backends].sort((a, b) => Number(a === 'webgpu') - Number(b === 'webgpu'));
  for (const b of order) {
    const r = await benchBackend(b, cfg, args);
    if (r) results.push(r);
    if (b === 'wasm' && r && args.compareGrad) {
      const o = await benchBackend(b, cfg, args, 'wasm, tfjs matMul grad');
      if (o) all2.push(...o.rows);
    }
  }
  const all = [...results.flatMap((r) => r.rows), ...all2];
  const out = [
    `ViT: ${JSON.stringify(cfg)}; batch ${args.batch}; ${args.steps} timed steps after 2 warm-up rounds (cpu and webgpu: a third, at least 3), fastest of interleaved rounds; SGD momentum.`,
    `Machine: ${os.cpus().length} cores, load average ${loadBefore.toFixed(1)} at the start and ${(os.loadavg()[0] as number).toFixed(1)} at the end (other processes share the cores: timings are only as steady as that load).`,
    '',
    ...results.map((r) => `- ${r.info.backend}: ${r.info.device}`),
    '',
    table(all),
    '',
    ...results.flatMap((r) => [`${r.info.backend}: ${r.profile[0] ?? ''}`, ...r.profile.slice(1).map((l) => `  - ${l}`)]),
  ].join('\n');
  console.log(out);
  if (args.out) writeFileSync(args.out, out + '\n');
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
