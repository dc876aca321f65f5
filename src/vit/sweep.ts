/**
 * `prompt-experts vit sweep experiments/<study>/study.json`: the sample-efficiency sweep,
 * methods x tasks x n x seeds on a frozen pretrained backbone.
 *
 * The backbone comes from `experiments/<study>/backbone/` (pretrained there first when missing,
 * from the study's backbone block). Every cell: a fresh method (seeded by (seed, task, method), so
 * the same initialisation for every n), trained on the first n images of the task's training
 * stream for that seed (nested across n), scored on the task's fixed test set, and appended as one
 * line to `results.jsonl`:
 *
 *   { study, method, base, task, group, n, seed, accuracy, error, loss, trainLoss,
 *     tunableParams, promptParams, activePromptParams, steps, lr, backend, device, seconds,
 *     imagesPerSecond, finished }
 *
 * imagesPerSecond is the training throughput of the cell's (last) training run: images through
 * forward and backward per second of its wall time, (steps - resumed step) x min(batchSize, n) /
 * seconds, so GPU and CPU runs of the same study can be compared line by line.
 *
 * `method` is the method's label in the study (unique), `base` the method it runs. Cells already
 * in results.jsonl (same method, task, n, seed) are skipped, so a killed sweep resumes.
 * E2VPT with a `prune` block runs prune-then-rewind: train, sum |d loss / d mask| over a few
 * training batches, prune lowest-importance tokens and segments, then retrain from the same
 * initialisation with the masks frozen; the line reports the second run.
 */
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../util/rng.js';
import { progressBar } from '../util/progress.js';
import { InputError } from '../util/errors.js';
import { createMethod, disposeVit, selectBackend, type BackendInfo, type BackendRequest, type E2vptMethod, type TuningMethod, type VitWeights } from './index.js';
import { addImportances, pruneSegments, pruneTokens, type E2vptMasks } from './prompts/e2vpt.js';
import { taskInfo, testSet, trainSet, type ImageSet } from './data/tasks.js';
import { hasBackbone, loadBackbone, pretrainBackbone, type BackboneMeta } from './train/pretrain.js';
import { batchRows, evaluate, imagesTensor, labelsTensor, train, type Trainable } from './train/train.js';
import { loadSweepStudy, methodSpec, type BackboneBlock, type MethodEntry, type SweepStudy } from './study.js';
import { appendJsonl, newSession, readJsonl, recordSession } from './results.js';
import { paramTable } from '../prompts/config.js';
import { checkOutputFile, readTextFile } from '../util/files.js';
import { parseJsonText } from '../util/schema.js';
import { acquireLock } from '../util/lock.js';
import { resultsFile, runFile, type Shard } from '../study/runner.js';
import { mergeVitStudy, requireBackboneForShard, shardFlag, vitShardCells, type VitMergeSummary } from './shards.js';

export interface SweepLine {
  study: string;
  method: string;
  base: string;
  task: string;
  group: string;
  n: number;
  seed: number;
  accuracy: number;
  error: number;
  loss: number;
  trainLoss: number;
  tunableParams: number;
  promptParams: number;
  activePromptParams: number;
  steps: number;
  lr: number;
  backend: string;
  device: string;
  seconds: number;
  /** Training images per second (absent in lines written before it was recorded). */
  imagesPerSecond?: number;
  finished: string;
}

export const cellKey = (c: { method: string; task: string; n: number; seed: number }): string => `${c.method}|${c.task}|${c.n}|${c.seed}`;

/** The study's backbone: loaded from `dir/backbone`, or pretrained there first. */
export async function ensureBackbone(dir: string, block: BackboneBlock, log: (m: string) => void, quiet = false): Promise<{ weights: VitWeights; meta: BackboneMeta }> {
  const bdir = join(dir, 'backbone');
  if (!hasBackbone(bdir)) {
    log(`no backbone in ${bdir}: pretraining one (${block.steps} steps on ${block.task})`);
    const meta = await pretrainBackbone(bdir, { ...block, label: quiet ? null : 'pretrain' });
    log(`backbone: ${(100 * meta.testAccuracy).toFixed(1)}% test accuracy on ${meta.task} after ${meta.steps} steps (${meta.seconds.toFixed(0)} s)`);
  }
  const loaded = loadBackbone(bdir);
  checkBackboneShape(loaded.meta.config, block, bdir);
  return loaded;
}

/** The study's backbone.vit block must describe the saved backbone, field by field. */
function checkBackboneShape(saved: unknown, block: BackboneBlock, bdir: string): void {
  const have = (saved ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(block.vit)) {
    if (have[k] !== v) throw new InputError(`backbone.vit.${k}`, `${JSON.stringify(have[k])} as in the saved ${bdir} (delete that folder to pretrain a new backbone)`, JSON.stringify(v));
  }
}

/** The saved backbone's config from its model.json, read without loading weights or a backend. */
function savedBackboneConfig(bdir: string): unknown {
  const file = join(bdir, 'model.json');
  const json = parseJsonText(readTextFile(file, 'a backbone checkpoint (model.json)'), file) as { meta?: { config?: unknown } } | null;
  if (json?.meta?.config === undefined) throw new InputError(file, 'a prompt-experts backbone checkpoint (meta.config)', 'none');
  return json.meta.config;
}

/**
 * Check each method's prompt config against the backbone's shape (a VAPT kernel larger than the
 * patch grid, a field the method does not have) before any backend or file is touched; errors
 * name `${list}[i].config.<field>`.
 */
export function checkMethodConfigs(entries: ReadonlyArray<Pick<MethodEntry, 'name' | 'config'>>, block: BackboneBlock, list: string): void {
  const v = block.vit;
  const side = v.imageSize / v.patch;
  entries.forEach((m, i) => {
    try {
      const spec = methodSpec(m.name, m.config);
      if ('config' in spec) paramTable({ layers: v.depth, width: v.width, grid: [side, side] }, spec.config);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      const field = e.field.startsWith('config') ? e.field : `config.${e.field}`;
      throw new InputError(`${list}[${i}].${field}`, e.expected);
    }
  });
}

/** A saved backbone in `dir/backbone` must match the study's backbone block (checked without a backend). */
export function checkSavedBackbone(dir: string, block: BackboneBlock): void {
  const bdir = join(dir, 'backbone');
  if (hasBackbone(bdir)) checkBackboneShape(savedBackboneConfig(bdir), block, bdir);
}

/** Run `check`, prefixing a field error it throws under `list` with the study file's path. */
export function withStudyPath<T>(studyPath: string, list: string, check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof InputError && e.field.startsWith(`${list}[`)) throw new InputError(`${studyPath}: ${e.field}`, e.expected);
    throw e;
  }
}

interface SweepCell {
  readonly task: string;
  readonly seed: number;
  readonly n: number;
  readonly entry: MethodEntry;
}

/** A validated sweep: the study, its files and the cells still to run. Nothing is written. */
export interface SweepPlan {
  readonly studyPath: string;
  readonly study: SweepStudy;
  readonly dir: string;
  readonly resultsPath: string;
  readonly runPath: string;
  readonly cells: SweepCell[];
  readonly todo: SweepCell[];
}

/** Everything `vit sweep` checks before choosing a backend, writing run.json or pretraining. */
export function planSweep(studyPath: string, shard?: Shard): SweepPlan {
  const study = loadSweepStudy(studyPath);
  const dir = dirname(studyPath);
  withStudyPath(studyPath, 'methods', () => checkMethodConfigs(study.methods, study.backbone, 'methods'));
  checkSavedBackbone(dir, study.backbone);
  requireBackboneForShard(dir, studyPath, shard);
  const resultsPath = resultsFile(dir, false, shard);
  const runPath = runFile(dir, false, shard);
  for (const p of [resultsPath, runPath]) checkOutputFile(p);
  const done = doneCells(dir, shard, false);
  const cells = vitShardCells(sweepCells(study), shard);
  const todo = cells.filter((c) => !done.has(sweepCellKey(c)));
  return { studyPath, study, dir, resultsPath, runPath, cells, todo };
}

/** Cells already run: the (shard's) results file, and for a shard also the merged results.jsonl. */
function doneCells(dir: string, shard: Shard | undefined, repair: boolean): Set<string> {
  const files = shard === undefined ? [resultsFile(dir, false)] : [resultsFile(dir, false, shard), resultsFile(dir, false)];
  // Only the file this run appends to is repaired (a torn last line dropped), never the merged one.
  return new Set(files.flatMap((f, i) => readJsonl<SweepLine>(f, repair && i === 0)).map(cellKey));
}

/** A cell's key as its results line gives it (cellKey): the method's label, else its name. */
const sweepCellKey = (c: SweepCell): string => cellKey({ method: c.entry.label ?? c.entry.name, task: c.task, n: c.n, seed: c.seed });

/** Every cell of a sweep in run order: task, seed, n, method (what --shard splits). */
export function sweepCells(study: SweepStudy): SweepCell[] {
  const cells: SweepCell[] = [];
  for (const task of study.tasks) for (const seed of study.seeds) for (const n of study.n) for (const entry of study.methods) cells.push({ task, seed, n, entry });
  return cells;
}

/** Merge a sweep's shards into results.jsonl (see src/vit/shards.ts). */
export function mergeSweep(studyPath: string, inputs?: string[]): VitMergeSummary {
  const study = loadSweepStudy(studyPath);
  const order = sweepCells(study).map(sweepCellKey);
  return mergeVitStudy<SweepLine>(dirname(studyPath), false, { key: cellKey, order }, inputs);
}

function activePromptParams(m: TuningMethod): number {
  const e = m as Partial<E2vptMethod>;
  if (m.name !== 'e2vpt' || e.masks === undefined || e.config === undefined) return m.promptParameters;
  const D = m.backbone.config.width;
  const seg = (row: number[], token: number): number => {
    // Dims of a prompt row kept: token mask times the dims whose segment (c mod 16) is on.
    let kept = 0;
    for (let c = 0; c < D; c++) kept += token * (row[c % row.length] ?? 0);
    return kept;
  };
  let total = 0;
  for (const l of e.masks()) {
    l.visualToken.forEach((t, j) => (total += seg(l.visualSegment[j] ?? [], t)));
    const kv = l.kvToken.reduce((s, t, j) => s + seg(l.kvSegment[j] ?? [], t), 0);
    total += e.config.sharedKV ? kv : 2 * kv;
  }
  return total;
}

/** Run one cell: build, train (with prune-then-rewind for a pruned E2VPT), evaluate. */
export async function runCell(
  backbone: VitWeights,
  entry: MethodEntry,
  study: Pick<SweepStudy, 'train'>,
  data: ImageSet,
  test: ImageSet,
  seed: number,
): Promise<Omit<SweepLine, 'study' | 'task' | 'group' | 'n' | 'seed' | 'backend' | 'device' | 'finished'>> {
  const t0 = Date.now();
  const spec = methodSpec(entry.name, entry.config);
  const opts = { ...study.train, ...(entry.train ?? {}) };
  const initSeed = deriveSeed(seed, data.task, entry.name);
  const make = (): TuningMethod => createMethod(backbone, spec, { classes: data.numClasses, seed: initSeed });
  const trainable = (m: TuningMethod): Trainable =>
    entry.frozenPrompts ? { forward: (x) => m.forward(x), trainableVariables: () => [m.head.w, m.head.b], namedVariables: () => ({ 'head.w': m.head.w, 'head.b': m.head.b }) } : m;
  const trainOpts = { ...opts, seed, label: null };
  let method = make();
  let result = await train(trainable(method), data, trainOpts);
  if (entry.prune !== undefined && method.name === 'e2vpt') {
    const e2 = method as E2vptMethod;
    let importance: E2vptMasks | null = null;
    for (let b = 0; b < entry.prune.batches; b++) {
      const rows = batchRows(data.count, opts.batchSize, deriveSeed(seed, 'importance'), b);
      const x = imagesTensor(data, rows);
      const y = labelsTensor(data, rows);
      const imp = await e2.maskImportanceAsync(x, y); // async read-back: WebGPU in Node has no synchronous path
      tf.dispose([x, y]);
      importance = importance === null ? imp : addImportances(importance, imp);
    }
    let masks = e2.masks();
    if (importance !== null) {
      masks = pruneTokens(masks, importance, entry.prune.visualTokens, 'visual');
      masks = pruneTokens(masks, importance, entry.prune.kvTokens, 'kv');
      masks = pruneSegments(masks, importance, entry.prune.visualSegments, 'visual');
      masks = pruneSegments(masks, importance, entry.prune.kvSegments, 'kv');
    }
    method.dispose();
    // Rewind: the same initialisation, the pruned masks frozen, trained from scratch.
    method = make();
    (method as E2vptMethod).setMasks(masks);
    result = await train(trainable(method), data, trainOpts);
  }
  const ev = await evaluate(method, test);
  const tunable = entry.frozenPrompts ? method.head.w.size + method.head.b.size : method.tunableParameters;
  const out = {
    method: entry.label ?? entry.name,
    base: entry.name,
    accuracy: ev.accuracy,
    error: 1 - ev.accuracy,
    loss: ev.loss,
    trainLoss: result.finalLoss,
    tunableParams: tunable,
    promptParams: entry.frozenPrompts ? 0 : method.promptParameters,
    activePromptParams: entry.frozenPrompts ? 0 : activePromptParams(method),
    steps: opts.steps,
    lr: opts.lr,
    seconds: (Date.now() - t0) / 1000,
    imagesPerSecond: ((result.steps - result.resumedFrom) * Math.min(opts.batchSize, data.count)) / Math.max(result.seconds, 1e-9),
  };
  method.dispose();
  return out;
}

export interface SweepOptions {
  readonly backend?: BackendRequest;
  readonly quiet?: boolean;
  /** Messages (default: stderr). */
  readonly log?: (m: string) => void;
  /** Already-selected backend (tests); skips selection. */
  readonly backendInfo?: BackendInfo;
  /** Run one shard of the cells into results.shard-i-of-N.jsonl (src/vit/shards.ts). */
  readonly shard?: Shard;
}

export interface SweepSummary {
  readonly total: number;
  readonly skipped: number;
  readonly ran: number;
  readonly results: string;
  readonly backend: string;
  readonly device: string;
}

export async function runSweep(studyPath: string, options: SweepOptions = {}): Promise<SweepSummary> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const plan = planSweep(studyPath, options.shard);
  const { resultsPath, cells } = plan;
  if (plan.todo.length === 0) {
    log(`${cells.length} cells, all already in ${resultsPath}: nothing to run`);
    return { total: cells.length, skipped: cells.length, ran: 0, results: resultsPath, backend: 'none', device: 'none' };
  }
  const lock = acquireLock(resultsPath);
  try {
    return await sweepLocked(plan, options, log);
  } finally {
    lock.release();
  }
}

async function sweepLocked(plan: SweepPlan, options: SweepOptions, log: (m: string) => void): Promise<SweepSummary> {
  const { study, dir, resultsPath, runPath, cells } = plan;
  const info = options.backendInfo ?? (await selectBackend(options.backend ?? 'auto', { log }));
  log(`backend: ${info.backend} (${info.device})`);
  const done = doneCells(dir, options.shard, true);
  const session = newSession(`vit sweep ${plan.studyPath}${shardFlag(options.shard)}`, info.backend, info.device);
  const { weights, meta } = await ensureBackbone(dir, study.backbone, log, options.quiet);
  session['backbone'] = meta;
  const size = weights.config.imageSize;
  const todo = cells.filter((c) => !done.has(sweepCellKey(c)));
  session.cells = { total: cells.length, skipped: cells.length - todo.length, ran: 0 };
  recordSession(runPath, study, session);
  log(`${cells.length} cells, ${cells.length - todo.length} already in ${resultsPath}${options.shard === undefined ? '' : ' or results.jsonl'}, ${todo.length} to run`);
  const bar = progressBar(todo.length, 'sweep', { quiet: options.quiet, every: 1 });
  const t0 = Date.now();
  const tests = new Map<string, ImageSet>();
  for (const c of todo) {
    let test = tests.get(c.task);
    if (test === undefined) {
      test = testSet(c.task, study.testSize, size);
      tests.set(c.task, test);
    }
    const data = trainSet(c.task, c.n, c.seed, size);
    const r = await runCell(weights, c.entry, study, data, test, c.seed);
    const line: SweepLine = {
      study: study.name,
      method: r.method,
      base: r.base,
      task: c.task,
      group: taskInfo(c.task).group,
      n: c.n,
      seed: c.seed,
      accuracy: r.accuracy,
      error: r.error,
      loss: r.loss,
      trainLoss: r.trainLoss,
      tunableParams: r.tunableParams,
      promptParams: r.promptParams,
      activePromptParams: r.activePromptParams,
      steps: r.steps,
      lr: r.lr,
      backend: info.backend,
      device: info.device,
      seconds: r.seconds,
      imagesPerSecond: r.imagesPerSecond,
      finished: new Date().toISOString(),
    };
    appendJsonl(resultsPath, line);
    session.cells.ran += 1;
    recordSession(runPath, study, { ...session, seconds: (Date.now() - t0) / 1000 });
    bar.tick(1, `${r.method} ${c.task} n=${c.n} seed=${c.seed}: ${(100 * r.accuracy).toFixed(1)}%`);
  }
  bar.stop();
  session.end = new Date().toISOString();
  session.seconds = (Date.now() - t0) / 1000;
  recordSession(runPath, study, session);
  disposeVit(weights);
  return { total: cells.length, skipped: cells.length - todo.length, ran: todo.length, results: resultsPath, backend: info.backend, device: info.device };
}
