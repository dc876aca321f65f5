/**
 * `prompt-experts vit planted experiments/<study>/study.json`: planted prompts on a real ViT.
 *
 * Teacher: the study's frozen backbone with planted prompt parameters theta* of one form
 *   (VPT-deep / VPT-shallow: prompt tokens; VAPT: static-free adaptive prompts, kernel, projector,
 *   shared MLP), drawn from the method's own seeded initialisation and scaled by `plantScale`.
 *   Targets on real MNIST images x_i:  y_i = f_{theta*}(x_i) + sigma * eps_i,  eps_i ~ N(0, I_D),
 *   where f is the CLS feature vector after the final LayerNorm (D numbers per image).
 * Student: the same backbone and form; its prompt parameters start near the truth
 *   (theta* + `initPerturbation` * (fresh initialisation)) and are fitted by AdamW with a
 *   warmup-cosine schedule on the squared error over the n images (mini-batches).
 * Loss: the Voronoi loss between fitted and planted prompt atoms (one atom per prompt and layer,
 *   the prompt as the attention sees it: see `promptAtoms`), summed over layers, as in the
 *   simulation (src/loss/voronoi.ts); and its slope against n with a bootstrap interval (src/rates).
 *
 * Results lines: {"kind":"fit", study, form, base, n, seed, loss, lossPerLayer, sharedError,
 * trainMse, testMse, noiseVar, steps, tunableParams, backend, device, seconds, finished} per fit;
 * after the run, {"kind":"slope", study, form, slope, ci, points, ns} per form (older slope lines
 * are replaced). Fits already in results.jsonl (same form, n, seed) are skipped.
 */
import { dirname, join } from 'node:path';
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../util/rng.js';
import { progressBar } from '../util/progress.js';
import { createMethod, disposeVit, layerNormApply, selectBackend, vitFeatures, type BackendRequest, type BlockWeights, type PromptHooks, type TuningMethod, type VitWeights } from './index.js';
import { testSet, trainSet, type ImageSet } from './data/tasks.js';
import { AdamW, warmupCosine } from './train/sgd.js';
import { batchRows, imagesTensor } from './train/train.js';
import { loadPlantedStudy, methodSpec, type PlantedStudy } from './study.js';
import { checkMethodConfigs, checkSavedBackbone, ensureBackbone, withStudyPath } from './sweep.js';
import { checkOutputFile } from '../util/files.js';
import { acquireLock } from '../util/lock.js';
import { appendJsonl, newSession, readJsonl, recordSession } from './results.js';
import { promptAtomLoss, slopeWithInterval } from './planted-loss.js';

type Form = PlantedStudy['forms'][number];

export interface PlantedFitLine {
  kind: 'fit';
  study: string;
  form: string;
  base: string;
  n: number;
  seed: number;
  loss: number;
  lossPerLayer: number[];
  sharedError: number;
  trainMse: number;
  testMse: number;
  noiseVar: number;
  steps: number;
  tunableParams: number;
  backend: string;
  device: string;
  seconds: number;
  finished: string;
}

export interface PlantedSlopeLine {
  kind: 'slope';
  study: string;
  form: string;
  slope: number;
  ci: [number, number];
  tInterval: [number, number];
  points: number;
  ns: number[];
  loss: string;
  finished: string;
}

/**
 * The prompt atoms of a method, per layer, as the attention sees them: prompt j of layer l is the
 * row LN1_l(P_j) that the block's keys and values are computed from (LN1_l = the block's frozen
 * LayerNorm). A VPT prompt's atom is LN1_l(p_j) (the LayerNorm removes the prompt's mean and scale,
 * which no data can identify); a VAPT prompt depends on the image, so its atom is
 * [LN1_l(P_j(x_1)), ..., LN1_l(P_j(x_m))] on m fixed probe images (the expert as a function on
 * those inputs).
 */
export function promptAtoms(backbone: VitWeights, m: TuningMethod, probe: tf.Tensor4D): number[][][] {
  const captured: tf.Tensor3D[] = [];
  const inner = m.hooks;
  const hooks: PromptHooks = {
    ...inner,
    layerPrompts: (input) => {
      const p = inner.layerPrompts ? inner.layerPrompts(input) : null;
      if (p !== null) captured[input.layer] = tf.keep(layerNormApply(p, backbone.blocks[input.layer]?.ln1 as BlockWeights['ln1']));
      return p;
    },
  };
  tf.tidy(() => {
    vitFeatures(backbone, probe, { prompts: hooks });
  });
  const out: number[][][] = [];
  captured.forEach((t, l) => {
    const [B, L, D] = t.shape;
    // [B, L, D] -> per prompt j: concat over probe images (one image for VPT: prompts do not depend on X).
    const arr = t.arraySync();
    const imgs = m.name === 'vapt' ? B : 1;
    const atoms: number[][] = [];
    for (let j = 0; j < L; j++) {
      const row: number[] = [];
      for (let b = 0; b < imgs; b++) row.push(...(arr[b]?.[j] ?? new Array<number>(D).fill(0)));
      atoms.push(row);
    }
    out[l] = atoms;
    t.dispose();
  });
  return out.filter((x) => x !== undefined);
}

/** Max abs difference of the parameters shared by all prompts (VAPT kernel, LayerNorm, MLP); 0 for VPT. */
function sharedError(fit: TuningMethod, truth: TuningMethod): number {
  const a = fit.namedVariables();
  const b = truth.namedVariables();
  let worst = 0;
  for (const [k, v] of Object.entries(a)) {
    if (k.startsWith('head.') || k.startsWith('vpt.') || k.endsWith('.alpha') || k.endsWith('.bias') || k === 'vapt.static') continue;
    const w = b[k];
    if (w === undefined) continue;
    worst = Math.max(worst, tf.tidy(() => tf.max(tf.abs(tf.sub(v, w))).dataSync()[0] ?? 0));
  }
  return worst;
}

function promptVariables(m: TuningMethod): Array<[string, tf.Variable]> {
  return Object.entries(m.namedVariables()).filter(([k]) => !k.startsWith('head.'));
}

function features(backbone: VitWeights, m: TuningMethod, x: tf.Tensor4D): tf.Tensor2D {
  return vitFeatures(backbone, x, { prompts: m.hooks });
}

/** Teacher targets for a set: features under the planted prompts, plus N(0, sigma^2) noise (seeded). */
function targets(backbone: VitWeights, teacher: TuningMethod, set: ImageSet, sigma: number, seed: number): tf.Tensor2D {
  const out: tf.Tensor2D[] = [];
  for (let s = 0; s < set.count; s += 250) {
    const rows = Array.from({ length: Math.min(250, set.count - s) }, (_, i) => s + i);
    out.push(
      tf.tidy(() => {
        const f = features(backbone, teacher, imagesTensor(set, rows));
        return sigma > 0 ? tf.add(f, tf.randomNormal(f.shape, 0, sigma, 'float32', deriveSeed(seed, 'noise', s))) : f;
      }),
    );
  }
  const all = tf.concat(out, 0);
  tf.dispose(out);
  return all;
}

function mse(backbone: VitWeights, m: TuningMethod, set: ImageSet, y: tf.Tensor2D): number {
  let sum = 0;
  for (let s = 0; s < set.count; s += 250) {
    const rows = Array.from({ length: Math.min(250, set.count - s) }, (_, i) => s + i);
    sum += tf.tidy(() => {
      const f = features(backbone, m, imagesTensor(set, rows));
      return tf.sum(tf.square(tf.sub(f, tf.gather(y, rows)))).dataSync()[0] ?? 0;
    });
  }
  return sum / (set.count * y.shape[1]);
}

/** One planted fit: teacher, noisy targets on n images, near-truth start, AdamW fit, losses. */
export async function plantedFit(backbone: VitWeights, study: PlantedStudy, form: Form, n: number, seed: number): Promise<Omit<PlantedFitLine, 'kind' | 'study' | 'backend' | 'device' | 'finished'>> {
  const t0 = Date.now();
  const spec = methodSpec(form.name, form.config);
  const label = form.label ?? form.name;
  // The planted truth depends on (form, seed) only: the same teacher for every n.
  const teacher = createMethod(backbone, spec, { classes: 2, seed: deriveSeed(seed, label, 'teacher') });
  for (const [, v] of promptVariables(teacher)) v.assign(tf.tidy(() => v.mul(study.plantScale)));
  const size = backbone.config.imageSize;
  const data = trainSet(study.task, n, seed, size);
  const test = testSet(study.task, study.testSize, size);
  const y = targets(backbone, teacher, data, study.noise, deriveSeed(seed, label, 'train-noise'));
  const yTest = targets(backbone, teacher, test, 0, 0);
  const student = createMethod(backbone, spec, { classes: 2, seed: deriveSeed(seed, label, 'student', n) });
  const pairs = promptVariables(student);
  const truth = Object.fromEntries(promptVariables(teacher));
  for (const [k, v] of pairs) {
    const t = truth[k] as tf.Variable;
    // theta_0 = theta* + c * (fresh initialisation - its mean); LayerNorm gammas start at 1, so perturb around the truth only by the deviation.
    v.assign(tf.tidy(() => t.add(v.sub(tf.mean(v)).mul(study.fit.initPerturbation))));
  }
  const opt = new AdamW({ weightDecay: 0 });
  const vars = pairs.map(([, v]) => v);
  const batch = Math.min(study.fit.batchSize, n);
  for (let step = 0; step < study.fit.steps; step++) {
    const rows = batchRows(n, batch, deriveSeed(seed, label, 'batches', n), step);
    const lr = warmupCosine(step, study.fit.steps, study.fit.lr, Math.floor(study.fit.steps / 20));
    const x = imagesTensor(data, rows);
    const yb = tf.gather(y, rows);
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(features(backbone, student, x), yb))) as tf.Scalar, vars);
    opt.apply(pairs, grads, lr);
    tf.dispose([x, yb, value, ...Object.values(grads)]);
  }
  opt.dispose();
  const probe = imagesTensor(test, Array.from({ length: Math.min(8, test.count) }, (_, i) => i));
  const fitted = promptAtoms(backbone, student, probe);
  const planted = promptAtoms(backbone, teacher, probe);
  probe.dispose();
  const perLayer = fitted.map((f, l) => promptAtomLoss(f, planted[l] ?? []));
  const out = {
    form: label,
    base: form.name,
    n,
    seed,
    loss: perLayer.reduce((a, b) => a + b, 0),
    lossPerLayer: perLayer,
    sharedError: sharedError(student, teacher),
    trainMse: mse(backbone, student, data, y),
    testMse: mse(backbone, student, test, yTest),
    noiseVar: study.noise * study.noise,
    steps: study.fit.steps,
    tunableParams: student.promptParameters,
    seconds: (Date.now() - t0) / 1000,
  };
  tf.dispose([y, yTest]);
  student.dispose();
  teacher.dispose();
  return out;
}

export interface PlantedOptions {
  readonly backend?: BackendRequest;
  readonly quiet?: boolean;
  readonly log?: (m: string) => void;
}

type PlantedSummary = { ran: number; skipped: number; slopes: PlantedSlopeLine[]; backend: string; device: string };

export async function runPlanted(studyPath: string, options: PlantedOptions = {}): Promise<PlantedSummary> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  // The whole study is checked before a backend is chosen, a file written or a backbone pretrained.
  const study = loadPlantedStudy(studyPath);
  const dir = dirname(studyPath);
  withStudyPath(studyPath, 'forms', () => checkMethodConfigs(study.forms, study.backbone, 'forms'));
  checkSavedBackbone(dir, study.backbone);
  const resultsPath = join(dir, 'results.jsonl');
  const runPath = join(dir, 'run.json');
  for (const p of [resultsPath, runPath]) checkOutputFile(p);
  const existing = readJsonl<PlantedFitLine | PlantedSlopeLine>(resultsPath);
  const key = (c: { form: string; n: number; seed: number }): string => `${c.form}|${c.n}|${c.seed}`;
  const done = new Set(existing.filter((l): l is PlantedFitLine => l.kind === 'fit').map(key));
  const cells: Array<{ form: Form; n: number; seed: number }> = [];
  for (const form of study.forms) for (const seed of study.seeds) for (const n of study.n) cells.push({ form, n, seed });
  const todo = cells.filter((c) => !done.has(key({ form: c.form.label ?? c.form.name, n: c.n, seed: c.seed })));
  if (todo.length === 0) {
    // Nothing to fit: results (slope lines included) and run.json stay as they are.
    log(`${cells.length} fits, all already in ${resultsPath}: nothing to run`);
    return { ran: 0, skipped: cells.length, slopes: existing.filter((l): l is PlantedSlopeLine => l.kind === 'slope'), backend: 'none', device: 'none' };
  }
  const lock = acquireLock(resultsPath);
  try {
    return await plantedLocked(studyPath, study, { dir, resultsPath, runPath, cells, todo }, options, log);
  } finally {
    lock.release();
  }
}

async function plantedLocked(
  studyPath: string,
  study: PlantedStudy,
  plan: { dir: string; resultsPath: string; runPath: string; cells: Array<{ form: Form; n: number; seed: number }>; todo: Array<{ form: Form; n: number; seed: number }> },
  options: PlantedOptions,
  log: (m: string) => void,
): Promise<PlantedSummary> {
  const { dir, resultsPath, runPath, cells, todo } = plan;
  const info = await selectBackend(options.backend ?? 'auto', { log });
  log(`backend: ${info.backend} (${info.device})`);
  readJsonl(resultsPath, true); // cut a torn last line before appending
  const session = newSession(`vit planted ${studyPath}`, info.backend, info.device);
  const { weights, meta } = await ensureBackbone(dir, study.backbone, log, options.quiet);
  session['backbone'] = meta;
  session.cells = { total: cells.length, skipped: cells.length - todo.length, ran: 0 };
  recordSession(runPath, study, session);
  log(`${cells.length} fits, ${cells.length - todo.length} already in ${resultsPath}, ${todo.length} to run`);
  const bar = progressBar(todo.length, 'planted', { quiet: options.quiet, every: 1 });
  const t0 = Date.now();
  for (const c of todo) {
    const r = await plantedFit(weights, study, c.form, c.n, c.seed);
    const line: PlantedFitLine = { kind: 'fit', study: study.name, ...r, backend: info.backend, device: info.device, finished: new Date().toISOString() };
    appendJsonl(resultsPath, line);
    session.cells.ran += 1;
    recordSession(runPath, study, { ...session, seconds: (Date.now() - t0) / 1000 });
    bar.tick(1, `${r.form} n=${c.n} seed=${c.seed}: loss ${r.loss.toPrecision(3)}`);
  }
  bar.stop();
  // Slopes from every fit line on file, replacing older slope lines.
  const fits = readJsonl<PlantedFitLine | PlantedSlopeLine>(resultsPath).filter((l): l is PlantedFitLine => l.kind === 'fit');
  const slopes: PlantedSlopeLine[] = [];
  for (const form of study.forms) {
    const label = form.label ?? form.name;
    const pts = fits.filter((f) => f.form === label && f.loss > 0);
    const ns = [...new Set(pts.map((p) => p.n))].sort((a, b) => a - b);
    if (ns.length < 2) continue;
    const s = slopeWithInterval(pts.map((p) => ({ n: p.n, loss: p.loss })), deriveSeed(1, label, 'bootstrap'));
    slopes.push({ kind: 'slope', study: study.name, form: label, slope: s.slope, ci: s.ci, tInterval: s.tInterval, points: pts.length, ns, loss: 'voronoi-D1 over prompt atoms LN1(P_j), summed over layers', finished: new Date().toISOString() });
  }
  writeFileSync(resultsPath, [...fits, ...slopes].map((l) => JSON.stringify(l)).join('\n') + '\n');
  session.end = new Date().toISOString();
  session.seconds = (Date.now() - t0) / 1000;
  recordSession(runPath, study, session);
  for (const s of slopes) log(`${s.form}: slope ${s.slope.toFixed(3)} [${s.ci[0].toFixed(3)}, ${s.ci[1].toFixed(3)}] over n = ${s.ns.join(', ')}`);
  disposeVit(weights);
  return { ran: todo.length, skipped: cells.length - todo.length, slopes, backend: info.backend, device: info.device };
}
