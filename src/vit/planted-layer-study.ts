/**
 * `prompt-experts vit planted experiments/<study>/study.json` for `kind: "vit-planted-layer"`:
 * planted prompts in ONE attention layer of the frozen ViT, fitted to convergence and scored
 * with the simulation's losses.
 *
 * Per seed s: n_max images of the task (trainSet(task, n_max, s)) go through the backbone up to
 * block b once (src/vit/planted-cache.ts); each n uses the first n of them. Per form and seed the
 * planted truth theta* (L* atoms) is drawn (the same for every n and both regimes); per n the
 * targets y = f_{theta*}(X) + sigma eps on every output token and head (src/vit/planted-layer.ts;
 * eps ~ N(0, I), one draw shared by the exact and over-specified students). Students: L = L*
 * ('exact'), L = L* + 1 ('over') and L = L* + 1 with every fitted weight exp(b_j) >= weightFloor
 * ('over-floor', the merging regime: src/vit/planted-layer-floor.ts; it starts where 'over' does),
 * started by the 'fixed' protocol (truth expanded to L atoms +
 * start.scale per-block noise, the same law for every n), fitted by L-BFGS to the stopping rule
 * of src/estimate/minimize.ts (the `fit` block). Losses: D1, atoms-single, atoms-multi,
 * atoms-multi-min (src/loss, as the simulation's prompt mixtures are scored).
 *
 * results.jsonl (results.quick.jsonl with --quick), one line per fit:
 *   {"kind":"fit", study, form, base, regime, L, Lstar, block, n, seed, stopReason, converged,
 *    atCap, steps, evaluations, trainObjective, noiseVar, gradientNorm, D1, "atoms-single",
 *    "atoms-multi", "atoms-multi-min", cells, switchedOff, escaped, gateMeans, truthGateMeans,
 *    muted, estimate, tunableParams, seconds, backend, device, finished}
 * (weightFloor too on over-floor lines; gateMeans, truthGateMeans, muted and estimate are absent
 * from lines written before they were recorded). gateMeans: each fitted prompt's attention share
 * averaged over images, tokens and heads; muted: some fitted prompt's share is below
 * health.switchedOff times the planted prompts' mean share, i.e. its key has switched it off.
 * trainObjective = ||f(theta_hat) - y||^2 / (n T d), to set against noiseVar = sigma^2. A fit is
 * unreliable unless stopReason is 'tolerance' (atCap marks the step cap). After the run, one
 * {"kind":"slope", form, regime, loss, fits, slope, ci, tInterval, points, ns, capShare,
 * unconvergedShare} line per (form, regime, loss) and fit set (older slope lines are replaced);
 * capShare[n] is the share of fits at n that the step cap stopped, unconvergedShare[n] the share
 * that anything but the tolerance stopped (the cap, a stall, a non-finite value).
 */
import { dirname } from 'node:path';
import { writeFileSync } from 'node:fs';
import { deriveSeed, makeRng } from '../util/rng.js';
import { progressBar } from '../util/progress.js';
import { checkOutputFile } from '../util/files.js';
import { acquireLock } from '../util/lock.js';
import { resultsFile, runFile, type Shard } from '../study/runner.js';
import { mergeVitStudy, requireBackboneForShard, shardFlag, vitShardCells, type VitMergeSummary } from './shards.js';
import { disposeVit, selectBackend, type BackendRequest } from './index.js';
import { trainSet } from './data/tasks.js';
import { loadPlantedLayerStudy, PLANTED_REGIMES, type PlantedLayerStudy } from './study.js';
import { checkSavedBackbone, ensureBackbone } from './sweep.js';
import { appendJsonl, newSession, readJsonl, recordSession } from './results.js';
import { slopeWithInterval } from './planted-loss.js';
import { cacheLayerInput, firstImages, type PlantedCache } from './planted-cache.js';
import { measureToJson } from '../mixture/measure.js';
import { plantedLayer, type LayerTokens, type LayerWeights, type PlantedLayer } from './planted-layer.js';
import { flooredLayer, toFlooredStart } from './planted-layer-floor.js';
import { drawVaptPart, fitLayer, fixedStart, layerLosses, plantTruth, plantedTargets, vaptGridSize } from './planted-layer-fit.js';

type Form = PlantedLayerStudy['forms'][number];
type Regime = PlantedLayerStudy['regimes'][number];

export const LAYER_LOSSES = ['D1', 'atoms-single', 'atoms-multi', 'atoms-multi-min'] as const;

export interface LayerFitLine {
  kind: 'fit';
  study: string;
  form: string;
  base: string;
  regime: Regime;
  L: number;
  Lstar: number;
  block: number;
  n: number;
  seed: number;
  stopReason: string;
  converged: boolean;
  atCap: boolean;
  steps: number;
  evaluations: number;
  trainObjective: number;
  noiseVar: number;
  gradientNorm: number;
  /** over-floor: the floor every fitted weight exp(b_j) was kept above. */
  weightFloor?: number;
  D1: number;
  'atoms-single'?: number;
  'atoms-multi'?: number;
  'atoms-multi-min'?: number;
  cells: number[];
  switchedOff: boolean;
  escaped: boolean;
  /** Each fitted prompt's attention share averaged over images, tokens and heads (absent in lines before it was recorded). */
  gateMeans?: number[];
  /** The same for the planted prompts. */
  truthGateMeans?: number[];
  /** Some fitted prompt's mean share is below health.switchedOff times the planted prompts' mean share: muted by its key. */
  muted?: boolean;
  /** The fitted measure (weights exp(b_j), parameter blocks), as the simulation's lines store it. */
  estimate?: Array<{ weight?: number; params: Record<string, number[]> }>;
  tunableParams: number;
  seconds: number;
  backend: string;
  device: string;
  finished: string;
}

export interface LayerSlopeLine {
  kind: 'slope';
  study: string;
  form: string;
  regime: Regime;
  loss: (typeof LAYER_LOSSES)[number];
  /** Which fits the slope is over: those stopped by tolerance ("converged"), or all ("all": stalled and capped fits too). */
  fits: 'converged' | 'all';
  slope: number;
  ci: [number, number];
  tInterval: [number, number];
  points: number;
  ns: number[];
  /** Per n: the share of fits stopped by the step cap. */
  capShare: Record<string, number>;
  /** Per n: the share of fits not stopped by the tolerance (cap, stall or non-finite value). */
  unconvergedShare: Record<string, number>;
  finished: string;
}

/** Images of the subsample the Gauss-Newton preconditioner is computed on (src/vit/planted-layer-fit.ts). */
export const PRECONDITION_IMAGES = 32;

const labelOf = (f: Form): string => f.label ?? f.name;

/** One (form, regime, n, seed) fit on a cache of at least n images. */
export function plantedLayerFit(study: PlantedLayerStudy, cache: { tokens: LayerTokens; weights: LayerWeights }, form: Form, regime: Regime, n: number, seed: number): Omit<LayerFitLine, 'kind' | 'study' | 'backend' | 'device' | 'finished'> {
  const t0 = performance.now();
  const label = labelOf(form);
  const tokens = firstImages(cache.tokens, n);
  const vaptOpts = { K: form.kernel, padding: form.padding, rank: form.rank, residual: form.residual };
  const vapt = form.name === 'vapt' ? drawVaptPart(tokens.d, vaptOpts, deriveSeed(study.backbone.seed, label, 'vapt-part')) : undefined;
  const hw = form.name === 'vapt' ? vaptGridSize(tokens.grid, vaptOpts) : 0;
  const Lstar = form.prompts;
  const L = regime === 'exact' ? Lstar : Lstar + 1;
  const floor = regime === 'over-floor' ? (study.weightFloor as number) : undefined;
  const floored = (layer: PlantedLayer): PlantedLayer => (floor === undefined ? layer : flooredLayer(layer, floor));
  const { truth, blockScale } = plantTruth(form.name, Lstar, cache.weights, hw, { plantScale: study.plantScale, plantBias: study.plantBias }, deriveSeed(seed, label, 'truth'));
  const teacher = plantedLayer(tokens, cache.weights, { form: form.name, atoms: Lstar, ...(vapt ? { vapt } : {}) });
  const thetaStar = teacher.fromMeasure(truth);
  const Y = plantedTargets(teacher, thetaStar, study.noise, makeRng(deriveSeed(seed, label, 'noise', n)));
  const free = L === Lstar ? teacher : plantedLayer(tokens, cache.weights, { form: form.name, atoms: L, ...(vapt ? { vapt } : {}) });
  const student = floored(free);
  // A floored student starts where the free over-specified one does (the same draw), so the two differ by the floor alone.
  const start = fixedStart(free, truth, blockScale, study.start.scale, makeRng(deriveSeed(seed, label, floor === undefined ? regime : 'over', 'start', n)));
  const theta0 = floor === undefined ? start : toFlooredStart(free, start, floor);
  const sub = floored(plantedLayer(firstImages(tokens, Math.min(n, PRECONDITION_IMAGES)), cache.weights, { form: form.name, atoms: L, ...(vapt ? { vapt } : {}) }));
  const fit = fitLayer(student, Y, theta0, study.fit, sub);
  const estimate = student.toMeasure(fit.theta);
  const losses = layerLosses(estimate, truth, study.health);
  // Attention shares on the data: an atom can leave the fit by its key (every query scores it far
  // below the tokens) as well as by its weight; 'muted' flags the first kind, which 'switchedOff' cannot see.
  const gateMeans = Array.from(student.gateMeans(fit.theta));
  const truthGateMeans = Array.from(teacher.gateMeans(thetaStar));
  const truthMean = truthGateMeans.reduce((a, b) => a + b, 0) / truthGateMeans.length;
  const muted = gateMeans.some((g) => g < study.health.switchedOff * truthMean);
  return {
    form: label,
    base: form.name,
    regime,
    L,
    Lstar,
    block: study.block,
    n,
    seed,
    stopReason: fit.stopReason,
    converged: fit.converged,
    atCap: fit.stopReason === 'cap',
    steps: fit.steps,
    evaluations: fit.evaluations,
    trainObjective: fit.trainObjective,
    noiseVar: study.noise * study.noise,
    gradientNorm: fit.gradientNorm,
    ...(floor === undefined ? {} : { weightFloor: floor }),
    ...losses,
    gateMeans,
    truthGateMeans,
    muted,
    estimate: measureToJson(estimate),
    tunableParams: student.nParams,
    seconds: (performance.now() - t0) / 1000,
  };
}

export interface PlantedLayerOptions {
  readonly backend?: BackendRequest;
  readonly quiet?: boolean;
  readonly quick?: boolean;
  readonly log?: (m: string) => void;
  /** Run one shard of the cells into results.shard-i-of-N.jsonl (src/vit/shards.ts). */
  readonly shard?: Shard;
}

export interface PlantedLayerSummary {
  ran: number;
  skipped: number;
  slopes: LayerSlopeLine[];
  backend: string;
  device: string;
  results: string;
}

/** The cells of the study (or its quick block). */
function planCells(study: PlantedLayerStudy, quick: boolean): Array<{ form: Form; regime: Regime; n: number; seed: number }> {
  const q = study.quick;
  if (quick && q === undefined) throw new Error(`${study.name}: --quick needs a "quick" block in study.json`);
  const ns = quick ? (q as NonNullable<typeof q>).n : study.n;
  const seeds = quick ? (q as NonNullable<typeof q>).seeds : study.seeds;
  const forms = quick && q?.forms !== undefined ? study.forms.filter((f) => (q.forms as string[]).includes(labelOf(f))) : study.forms;
  const cells = [];
  for (const seed of seeds) for (const n of ns) for (const form of forms) for (const regime of study.regimes) cells.push({ form, regime, n, seed });
  return cells;
}

const key = (c: { form: string; regime: string; n: number; seed: number }): string => `${c.form}|${c.regime}|${c.n}|${c.seed}`;

/** The same slope lines but for when they were computed. */
function sameSlopes(a: ReadonlyArray<LayerSlopeLine>, b: ReadonlyArray<LayerSlopeLine>): boolean {
  const strip = (ls: ReadonlyArray<LayerSlopeLine>): string => JSON.stringify(ls.map(({ finished: _f, ...rest }) => rest));
  return strip(a) === strip(b);
}

/** Merge a planted-layer study's shards into results.jsonl, the slope lines recomputed from all fits. */
export function mergePlantedLayer(studyPath: string, opts: { quick?: boolean; inputs?: string[] } = {}): VitMergeSummary {
  const loaded = loadPlantedLayerStudy(studyPath);
  const quick = opts.quick === true;
  const order = planCells(loaded, quick).map((c) => key({ form: labelOf(c.form), regime: c.regime, n: c.n, seed: c.seed }));
  return mergeVitStudy<LayerFitLine | LayerSlopeLine>(
    dirname(studyPath),
    quick,
    {
      key: (l) => (l.kind === 'fit' ? key(l) : undefined),
      order,
      tail: (fits, previous) => {
        const slopes = layerSlopes(loaded, fits as LayerFitLine[]);
        const old = previous.filter((l): l is LayerSlopeLine => l.kind === 'slope');
        return sameSlopes(slopes, old) ? old : slopes;
      },
    },
    opts.inputs,
  );
}

/** Slope lines per (form, regime, loss) over the converged fits, with the cap share per n. */
export function layerSlopes(study: PlantedLayerStudy, fits: ReadonlyArray<LayerFitLine>): LayerSlopeLine[] {
  const out: LayerSlopeLine[] = [];
  // Every form and regime with fits in the file, not only this run's: a staged run
  // (stage-exact.json, stage-over.json) rewrites the file and must keep the other stage's slopes.
  // Ordered by first fit in the file (run order), so a stage does not reorder the lines.
  const labels = [...new Set([...fits.map((f) => f.form), ...study.forms.map(labelOf)])];
  for (const label of labels) {
    for (const regime of PLANTED_REGIMES) {
      const all = fits.filter((f) => f.form === label && f.regime === regime);
      if (all.length === 0) continue;
      const capShare: Record<string, number> = {};
      const unconvergedShare: Record<string, number> = {};
      for (const n of [...new Set(all.map((f) => f.n))].sort((a, b) => a - b)) {
        const at = all.filter((f) => f.n === n);
        capShare[String(n)] = at.filter((f) => f.atCap).length / at.length;
        unconvergedShare[String(n)] = at.filter((f) => !f.converged).length / at.length;
      }
      for (const loss of LAYER_LOSSES) {
        for (const which of ['converged', 'all'] as const) {
          const pts = all.filter((f) => (which === 'all' || f.converged) && typeof f[loss] === 'number' && (f[loss] as number) > 0).map((f) => ({ n: f.n, loss: f[loss] as number }));
          const ns = [...new Set(pts.map((p) => p.n))].sort((a, b) => a - b);
          if (ns.length < 2) continue;
          // The converged slope keeps its historical bootstrap seed; "all" gets its own.
          const s = slopeWithInterval(pts, which === 'converged' ? deriveSeed(1, label, regime, loss, 'bootstrap') : deriveSeed(1, label, regime, loss, 'all', 'bootstrap'));
          out.push({ kind: 'slope', study: study.name, form: label, regime, loss, fits: which, slope: s.slope, ci: s.ci, tInterval: s.tInterval, points: pts.length, ns, capShare, unconvergedShare, finished: new Date().toISOString() });
        }
      }
    }
  }
  return out;
}

export async function runPlantedLayer(studyPath: string, options: PlantedLayerOptions = {}): Promise<PlantedLayerSummary> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const loaded = loadPlantedLayerStudy(studyPath);
  const quick = options.quick === true;
  // The quick grid may override the fit block (its results go to their own files).
  const study: PlantedLayerStudy = quick && loaded.quick?.fit !== undefined ? { ...loaded, fit: { ...loaded.fit, ...loaded.quick.fit } } : loaded;
  const dir = dirname(studyPath);
  checkSavedBackbone(dir, study.backbone);
  requireBackboneForShard(dir, studyPath, options.shard);
  const resultsPath = resultsFile(dir, quick, options.shard);
  const runPath = runFile(dir, quick, options.shard);
  for (const p of [resultsPath, runPath]) checkOutputFile(p);
  const cells = vitShardCells(planCells(study, quick), options.shard);
  const existing = readJsonl<LayerFitLine | LayerSlopeLine>(resultsPath);
  // A shard also skips the cells already merged into results.jsonl.
  const merged = options.shard === undefined ? [] : readJsonl<LayerFitLine | LayerSlopeLine>(resultsFile(dir, quick));
  const done = new Set([...existing, ...merged].filter((l): l is LayerFitLine => l.kind === 'fit').map(key));
  const todo = cells.filter((c) => !done.has(key({ form: labelOf(c.form), regime: c.regime, n: c.n, seed: c.seed })));
  if (todo.length === 0) {
    log(`${cells.length} fits, all already in ${resultsPath}: nothing to run`);
    // The slope lines are recomputed from the fits (a study's grid, or the slope definitions, may have changed since).
    const fits = existing.filter((l): l is LayerFitLine => l.kind === 'fit');
    const slopes = layerSlopes(study, fits);
    const old = existing.filter((l): l is LayerSlopeLine => l.kind === 'slope');
    if (sameSlopes(slopes, old)) return { ran: 0, skipped: cells.length, slopes: old, backend: 'none', device: 'none', results: resultsPath };
    const lock = acquireLock(resultsPath);
    try {
      writeFileSync(resultsPath, [...fits, ...slopes].map((l) => JSON.stringify(l)).join('\n') + '\n');
    } finally {
      lock.release();
    }
    for (const sl of slopes) log(`${sl.form} ${sl.regime} ${sl.loss} (${sl.fits} fits): slope ${sl.slope.toFixed(3)} [${sl.ci[0].toFixed(3)}, ${sl.ci[1].toFixed(3)}] over n = ${sl.ns.join(', ')}`);
    return { ran: 0, skipped: cells.length, slopes, backend: 'none', device: 'none', results: resultsPath };
  }
  const lock = acquireLock(resultsPath);
  try {
    const info = await selectBackend(options.backend ?? 'auto', { log });
    log(`backend: ${info.backend} (${info.device}) for the frozen backbone; the planted layer is float64 JavaScript`);
    readJsonl(resultsPath, true);
    const session = newSession(`vit planted ${studyPath}${quick ? ' --quick' : ''}${shardFlag(options.shard)}`, info.backend, info.device);
    const { weights, meta } = await ensureBackbone(dir, study.backbone, log, options.quiet);
    session['backbone'] = meta;
    session.cells = { total: cells.length, skipped: cells.length - todo.length, ran: 0 };
    recordSession(runPath, study, session);
    log(`${cells.length} fits, ${cells.length - todo.length} already in ${resultsPath}${options.shard === undefined ? '' : ' or results.jsonl'}, ${todo.length} to run`);
    const bar = progressBar(todo.length, 'planted-layer', { quiet: options.quiet, every: 1 });
    const t0 = Date.now();
    const caches: Record<string, number> = {};
    const size = study.backbone.vit.imageSize;
    for (const seed of [...new Set(todo.map((c) => c.seed))]) {
      const mine = todo.filter((c) => c.seed === seed);
      const nMax = Math.max(...mine.map((c) => c.n));
      const cache: PlantedCache = cacheLayerInput(weights, study.block, trainSet(study.task, nMax, seed, size));
      caches[String(seed)] = cache.seconds;
      log(`seed ${seed}: ${nMax} images to block ${study.block} in ${cache.seconds.toFixed(1)} s`);
      for (const c of mine) {
        const r = plantedLayerFit(study, cache, c.form, c.regime, c.n, c.seed);
        const line: LayerFitLine = { kind: 'fit', study: study.name, ...r, backend: info.backend, device: info.device, finished: new Date().toISOString() };
        appendJsonl(resultsPath, line);
        session.cells.ran += 1;
        recordSession(runPath, study, { ...session, cacheSeconds: caches, seconds: (Date.now() - t0) / 1000 });
        bar.tick(1, `${r.form} ${r.regime} n=${c.n} seed=${c.seed}: ${r.stopReason} after ${r.steps} steps, D1 ${r.D1.toPrecision(3)}, ${r.seconds.toFixed(1)} s`);
      }
    }
    bar.stop();
    const fits = readJsonl<LayerFitLine | LayerSlopeLine>(resultsPath).filter((l): l is LayerFitLine => l.kind === 'fit');
    const slopes = layerSlopes(study, fits);
    writeFileSync(resultsPath, [...fits, ...slopes].map((l) => JSON.stringify(l)).join('\n') + '\n');
    session.end = new Date().toISOString();
    session.seconds = (Date.now() - t0) / 1000;
    recordSession(runPath, study, { ...session, cacheSeconds: caches });
    for (const s of slopes) log(`${s.form} ${s.regime} ${s.loss} (${s.fits} fits): slope ${s.slope.toFixed(3)} [${s.ci[0].toFixed(3)}, ${s.ci[1].toFixed(3)}] over n = ${s.ns.join(', ')}`);
    disposeVit(weights);
    return { ran: todo.length, skipped: cells.length - todo.length, slopes, backend: info.backend, device: info.device, results: resultsPath };
  } finally {
    lock.release();
  }
}
