/**
 * The study runner: the grid of (variant, n, rep) cells, each with its own seed
 * deriveSeed(study.seed, variant, n, rep), run on a pool of worker threads, one JSON line per
 * fit appended to the results file as it arrives. Cells already in the file (same variant
 * config) are skipped, so a killed run resumes where it stopped; `shard` runs the cells whose
 * canonical index is i mod N.
 *
 * Files, in the study's folder:
 *   results.jsonl / results.quick.jsonl          one line per fit (cell.ts: ResultLine)
 *   results.shard-I-of-N.jsonl (.quick too)      the same, for one shard (combine with merge)
 *   run.json / run.quick.json / run.shard-...    provenance: config hash, versions, each session's times
 *   failures.jsonl (.quick ...)                  cells whose fit threw (retried on the next run)
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync, openSync, ftruncateSync, closeSync, statSync, readSync, renameSync } from 'node:fs';
import { availableParallelism, cpus, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InputError } from '../util/errors.js';
import { deriveSeed } from '../util/rng.js';
import { parseJsonText } from '../util/schema.js';
import { progressBar } from '../util/progress.js';
import { checkOutputFile, readTextFile } from '../util/files.js';
import { acquireLock } from '../util/lock.js';
import { checkCellTime, checkLimits, DEFAULT_MAX_MEMORY } from './limits.js';
import { checkClaimRegimes, checkVariants, runCell, variantTruth, variantTruthsByN, type Cell, type ResultLine } from './cell.js';
import { measureToJson } from '../mixture/measure.js';
import { resolveFold, type FoldKind } from '../linalg/gram-fold.js';
import type { AtomHealthOptions } from '../loss/atoms.js';
import { hashOf, healthOf, parseStudy, planStudy, type StudyConfig, type StudyPlan } from './schema.js';
import { loadPlugins, pluginUrls } from './plugins.js';
import { checkStudyLosses } from './validate-losses.js';

export interface Shard {
  readonly index: number;
  readonly count: number;
}

export interface RunOptions {
  readonly quick?: boolean;
  /** Worker threads; 0 runs every cell in this thread. Default: os.availableParallelism(). */
  readonly workers?: number;
  readonly shard?: Shard;
  /** No progress output. */
  readonly quiet?: boolean;
  /** Stop after this many new cells (for tests and dry runs). */
  readonly limit?: number;
  /** Run only these variants (by name). */
  readonly variants?: ReadonlyArray<string>;
  /** Run only the cells with n <= maxN. */
  readonly maxN?: number;
  /** Refuse a study whose estimated per-cell memory exceeds this many bytes (default 4 GiB; limits.ts). */
  readonly maxMemory?: number;
  /** Refuse a study whose estimated seconds per cell (a timed probe cell, limits.ts) exceed this; no check when absent. */
  readonly maxCellSeconds?: number;
  /** Folder the study's "plugins" are relative to (default: `dir`). */
  readonly studyDir?: string;
}

export interface RunSummary {
  readonly resultsPath: string;
  readonly runPath: string;
  readonly total: number;
  readonly skipped: number;
  readonly ran: number;
  readonly failed: number;
  readonly seconds: number;
}

/** Read and validate experiments/<study>/study.json. */
export function loadStudy(path: string): StudyConfig {
  return parseStudy(parseJsonText(readTextFile(path, 'a readable study.json'), path), path);
}

/** Parse `--shard i/N` (i in 1..N, as Slurm and humans count; `0/N` with 0-based indices is not accepted). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = m === null ? NaN : Number(m[1]);
  const count = m === null ? NaN : Number(m[2]);
  if (!(count >= 1 && index >= 1 && index <= count)) throw new InputError('--shard', 'i/N with 1 <= i <= N, e.g. 3/8', JSON.stringify(text));
  return { index, count };
}

function suffix(quick: boolean, shard: Shard | undefined): string {
  return `${shard === undefined ? '' : `.shard-${shard.index}-of-${shard.count}`}${quick ? '.quick' : ''}`;
}

export function resultsFile(dir: string, quick: boolean, shard?: Shard): string {
  return join(dir, `results${suffix(quick, shard)}.jsonl`);
}

export function runFile(dir: string, quick: boolean, shard?: Shard): string {
  return join(dir, `run${suffix(quick, shard)}.json`);
}

/**
 * Every cell of the plan in canonical order: variants as listed, n ascending, rep ascending. The
 * seed comes from the variant's base name, so protocols crossed with one variant fit the same data.
 */
export function gridCells(plan: StudyPlan): Cell[] {
  const out: Cell[] = [];
  for (const v of plan.variants)
    for (const n of plan.n)
      for (let rep = 0; rep < plan.replications; rep++)
        out.push({ variant: v.name, n, rep, seed: deriveSeed(plan.study.seed, v.base, n, rep), index: out.length });
  return out;
}

/** The cells of one shard: canonical index = shard.index - 1 (mod shard.count). Shards partition the grid. */
export function shardCells(cells: ReadonlyArray<Cell>, shard?: Shard): Cell[] {
  if (shard === undefined) return [...cells];
  return cells.filter((c) => c.index % shard.count === shard.index - 1);
}

/**
 * Execution order: replication-major (all of rep 0 first), and within a replication the largest
 * n first. A run stopped early then holds a complete n grid with fewer replications, and the long
 * cells do not all pile up at the end of the run.
 */
export function executionOrder(cells: ReadonlyArray<Cell>): Cell[] {
  return [...cells].sort((a, b) => a.rep - b.rep || b.n - a.n || a.index - b.index);
}

export const cellKey = (c: { variant: string; n: number; rep: number }): string => `${c.variant}\u0000${c.n}\u0000${c.rep}`;

/** Replace a results file by these lines, atomically (written beside it, then renamed over it). */
export function rewriteResults(path: string, lines: ReadonlyArray<ResultLine>): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  renameSync(tmp, path);
}

/**
 * Parse a results file. A last line cut short by a kill is dropped (and, with `repair`, cut from
 * the file so appends start on a fresh line); any other bad line is an error naming its line.
 * `lineNumbers`, when given, receives the 1-based file line of each returned result.
 */
export function readResults(path: string, repair = false, lineNumbers?: number[]): ResultLine[] {
  if (!existsSync(path)) return [];
  const text = readTextFile(path, 'a results file (one JSON line per fit)');
  const lines = text.split('\n');
  const out: ResultLine[] = [];
  let validBytes = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const last = i === lines.length - 1;
    if (line.trim() === '') {
      if (!last) validBytes += Buffer.byteLength(line) + 1;
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = undefined;
    }
    const ok = parsed !== null && typeof parsed === 'object' && typeof (parsed as ResultLine).variant === 'string' && typeof (parsed as ResultLine).n === 'number' && typeof (parsed as ResultLine).rep === 'number';
    if (!ok || (last && !text.endsWith('\n'))) {
      if (last) break; // a line cut short by a kill
      throw new InputError(`${path}:${i + 1}`, 'one JSON results line with variant, n and rep');
    }
    out.push(parsed as ResultLine);
    lineNumbers?.push(i + 1);
    validBytes += Buffer.byteLength(line) + 1;
  }
  if (repair && validBytes < Buffer.byteLength(text)) {
    const fd = openSync(path, 'r+');
    ftruncateSync(fd, validBytes);
    closeSync(fd);
  }
  return out;
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        if ((JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === 'prompt-experts') return dir;
      } catch {
        /* keep looking */
      }
    }
    dir = dirname(dir);
  }
  return process.cwd();
}

/** Versions of node, this package and its runtime dependencies (from node_modules). */
export function versions(): Record<string, string> {
  const root = packageRoot();
  const out: Record<string, string> = { node: process.version };
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; dependencies?: Record<string, string> };
    out['prompt-experts'] = pkg.version;
    for (const dep of Object.keys(pkg.dependencies ?? {})) {
      try {
        out[dep] = (JSON.parse(readFileSync(join(root, 'node_modules', dep, 'package.json'), 'utf8')) as { version: string }).version;
      } catch {
        out[dep] = 'not installed';
      }
    }
  } catch {
    /* versions stay partial */
  }
  return out;
}

interface Session {
  start: string;
  end: string | null;
  workers: number;
  host: string;
  cpu: string;
  versions: Record<string, string>;
  /** The J^T J fold least-squares fits ran with ('wasm' SIMD kernel or 'js'; $PROMPT_EXPERTS_FOLD). */
  fold: FoldKind;
  /** total: cells of the grid (this shard's); skipped: already in the results; todo: this session's after --variant / --max-n / --limit; ran, failed: of those. */
  cells: { total: number; skipped: number; todo: number; ran: number; failed: number };
  seconds: number | null;
}

interface RunRecord {
  study: string;
  quick: boolean;
  shard: string | null;
  configHash: string;
  variants: Record<string, string>;
  n: number[];
  replications: number;
  seed: number;
  sessions: Session[];
}

function writeRun(path: string, plan: StudyPlan, shard: Shard | undefined, session: Session): void {
  let sessions: Session[] = [];
  const configHash = hashOf({ variants: plan.variants.map((v) => [v.name, v.configHash]), n: plan.n, replications: plan.replications, seed: plan.study.seed });
  if (existsSync(path)) {
    try {
      const old = JSON.parse(readFileSync(path, 'utf8')) as RunRecord;
      if (Array.isArray(old.sessions)) sessions = old.sessions.filter((s) => s.start !== session.start);
    } catch {
      /* a damaged run.json is replaced */
    }
  }
  const record: RunRecord = {
    study: plan.study.name,
    quick: plan.quick,
    shard: shard === undefined ? null : `${shard.index}/${shard.count}`,
    configHash,
    variants: Object.fromEntries(plan.variants.map((v) => [v.name, v.configHash])),
    n: plan.n,
    replications: plan.replications,
    seed: plan.study.seed,
    sessions: [...sessions, session],
  };
  writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * truth.json: each variant's true measure with its config hash, so any line can be re-scored
 * without rerunning: { "<variant>": { configHash, truth } }, or { configHash, truthByN: { "<n>":
 * measure } } for a variant whose truth depends on n (its lines carry their truth as well).
 */
export function truthFile(dir: string): string {
  return join(dir, 'truth.json');
}

function writeTruths(dir: string, plan: StudyPlan): void {
  const path = truthFile(dir);
  let old: Record<string, unknown> = {};
  if (existsSync(path)) {
    try {
      old = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch {
      /* a damaged truth.json is rewritten */
    }
  }
  const out: Record<string, unknown> = { ...old };
  for (const v of plan.variants) {
    const truth = variantTruth(v);
    const byN = variantTruthsByN(v, plan.n);
    if (truth !== undefined) out[v.name] = { configHash: v.configHash, truth: measureToJson(truth) };
    else if (byN !== undefined) {
      const previous = old[v.name] as { configHash?: unknown; truthByN?: Record<string, unknown> } | undefined;
      // n values of an earlier grid (--quick, or a grid since extended) stay, when the config is the same.
      const kept = previous?.configHash === v.configHash ? (previous.truthByN ?? {}) : {};
      const merged = { ...kept, ...Object.fromEntries(Object.entries(byN).map(([n, t]) => [n, measureToJson(t)])) };
      out[v.name] = { configHash: v.configHash, truthByN: Object.fromEntries(Object.entries(merged).sort(([a], [b]) => Number(a) - Number(b))) };
    }
  }
  const text = `${JSON.stringify(out, null, 1)}\n`;
  if (!existsSync(path) || readFileSync(path, 'utf8') !== text) writeFileSync(path, text);
}

function endsWithNewline(path: string): boolean {
  if (!existsSync(path)) return true;
  const size = statSync(path).size;
  if (size === 0) return true;
  const fd = openSync(path, 'r');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, size - 1);
  closeSync(fd);
  return b[0] === 10;
}

/** The worker entry beside this module: worker.js when compiled, worker.ts under tsx. */
function startWorker(data: unknown): Worker {
  const self = import.meta.url;
  const ts = self.endsWith('.ts');
  if (!ts) return new Worker(new URL('./worker.js', self), { workerData: data });
  // Under tsx (helpers' `npx tsx --test`): register tsx's loader in the worker, then load worker.ts.
  const url = new URL('./worker.ts', self).href;
  const code = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url)}); });`;
  return new Worker(code, { eval: true, workerData: data });
}

/** Run (or resume) a study. `dir` is the study's folder (results are written there). */
export async function runStudy(study: StudyConfig, dir: string, opts: RunOptions = {}): Promise<RunSummary> {
  const quick = opts.quick === true;
  const plan = planStudy(study, quick);
  // Everything that can be wrong with the config or the paths is found before anything is written.
  const plugins = pluginUrls(study.plugins, opts.studyDir ?? dir);
  await loadPlugins(plugins);
  checkLimits(plan, opts.maxMemory ?? DEFAULT_MAX_MEMORY, opts.maxN);
  checkVariants(plan.variants, plan.n);
  checkClaimRegimes(study, plan.variants, plan.n[0] ?? 2);
  checkStudyLosses(study, plan.variants, plan.n[0] ?? 2);
  if (opts.maxCellSeconds !== undefined) checkCellTime(plan, opts.maxCellSeconds, opts.maxN);
  if (opts.variants !== undefined) {
    const names = new Set(plan.variants.map((v) => v.name));
    for (const name of opts.variants) if (!names.has(name)) throw new InputError('--variant', `one of ${[...names].map((x) => JSON.stringify(x)).join(', ')}`, JSON.stringify(name));
  }
  const resultsPath = resultsFile(dir, quick, opts.shard);
  const runPath = runFile(dir, quick, opts.shard);
  const failuresPath = join(dir, `failures${suffix(quick, opts.shard)}.jsonl`);
  for (const p of [resultsPath, runPath, failuresPath, truthFile(dir)]) checkOutputFile(p);
  const lock = acquireLock(resultsPath);
  try {
    return await runLocked(study, plan, opts, { dir, resultsPath, runPath, failuresPath }, plugins);
  } finally {
    lock.release();
  }
}

/** The run itself, holding the results file's lock. */
async function runLocked(study: StudyConfig, plan: StudyPlan, opts: RunOptions, paths: { dir: string; resultsPath: string; runPath: string; failuresPath: string }, plugins: ReadonlyArray<string>): Promise<RunSummary> {
  const quick = plan.quick;
  const { dir, resultsPath, runPath, failuresPath } = paths;
  const existing = readResults(resultsPath);
  const hashes = new Map(plan.variants.map((v) => [v.name, v.configHash]));
  for (const line of existing) {
    const h = hashes.get(line.variant);
    if (h !== undefined && line.configHash !== h)
      throw new InputError(
        resultsPath,
        `results made with the current config of variant "${line.variant}" (hash ${h})`,
        `lines made with another config (hash ${String(line.configHash)}): move the file away to start over, or restore the config`,
      );
  }
  const done = new Set(existing.map(cellKey));
  const mine = shardCells(gridCells(plan), opts.shard);
  const only = opts.variants === undefined ? undefined : new Set(opts.variants);
  let todo = executionOrder(mine.filter((c) => !done.has(cellKey(c)) && (only === undefined || only.has(c.variant)) && (opts.maxN === undefined || c.n <= opts.maxN)));
  if (opts.limit !== undefined) todo = todo.slice(0, opts.limit);
  const skipped = mine.length - mine.filter((c) => !done.has(cellKey(c))).length;
  const label = `${study.name}${quick ? ' (quick)' : ''}${opts.shard === undefined ? '' : ` shard ${opts.shard.index}/${opts.shard.count}`}`;
  if (todo.length === 0) {
    // Nothing to do: leave results and run.json as they are (a finished study stays byte for byte).
    if (opts.quiet !== true) process.stderr.write(`${label}: nothing to run (${skipped} of ${mine.length} cells already in ${resultsPath})\n`);
    return { resultsPath, runPath, total: mine.length, skipped, ran: 0, failed: 0, seconds: 0 };
  }
  readResults(resultsPath, true); // cut a torn last line before appending
  if (!endsWithNewline(resultsPath)) appendFileSync(resultsPath, '\n');

  const workers = Math.min(opts.workers ?? availableParallelism(), todo.length);
  const start = new Date();
  const session: Session = {
    start: start.toISOString(),
    end: null,
    workers,
    host: hostname(),
    cpu: `${cpus()[0]?.model ?? 'unknown'} x ${availableParallelism()}`,
    versions: versions(),
    fold: resolveFold(),
    cells: { total: mine.length, skipped, todo: todo.length, ran: 0, failed: 0 },
    seconds: null,
  };
  writeRun(runPath, plan, opts.shard, session);
  if (todo.length > 0) writeTruths(dir, plan);
  const healthCfg = healthOf(study);
  const health: AtomHealthOptions = { switchedOffShare: healthCfg.switchedOff, escapeDistance: healthCfg.escaped };

  if (opts.quiet !== true)
    process.stderr.write(`${label}: ${todo.length} cells to run (${skipped} of ${mine.length} already in ${resultsPath}) on ${workers === 0 ? 'the main thread' : `${workers} worker thread${workers === 1 ? '' : 's'}`}\n`);
  const bar = progressBar(todo.length, label, { quiet: opts.quiet === true || todo.length === 0 });
  const byName = new Map(plan.variants.map((v) => [v.name, v]));
  let ran = 0;
  let failed = 0;
  let lastWrite = Date.now();
  const record = (cell: Cell, line: ResultLine | undefined, error: string | undefined): void => {
    if (line !== undefined) {
      appendFileSync(resultsPath, `${JSON.stringify(line)}\n`);
      ran++;
    } else {
      appendFileSync(failuresPath, `${JSON.stringify({ ...cell, error, at: new Date().toISOString() })}\n`);
      failed++;
    }
    bar.tick(1, `${cell.variant} n=${cell.n}`);
    // Keep run.json's counts current, so a killed session still shows what it did.
    if (Date.now() - lastWrite > 30_000) {
      session.cells.ran = ran;
      session.cells.failed = failed;
      writeRun(runPath, plan, opts.shard, session);
      lastWrite = Date.now();
    }
  };

  if (workers <= 0) {
    for (const cell of todo) {
      const v = byName.get(cell.variant);
      if (v === undefined) continue;
      try {
        record(cell, runCell(v, study.loss, cell, health), undefined);
      } catch (e) {
        if (e instanceof InputError) throw e;
        record(cell, undefined, e instanceof Error ? e.message : String(e));
      }
    }
  } else {
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let live = 0;
      const pool: Worker[] = [];
      const feed = (w: Worker): void => {
        const cell = todo[next++];
        if (cell === undefined) {
          live--;
          void w.terminate();
          if (live === 0) resolve();
          return;
        }
        w.postMessage(cell);
      };
      for (let i = 0; i < workers; i++) {
        const w = startWorker({ variants: plan.variants, loss: study.loss, health, plugins });
        live++;
        pool.push(w);
        w.on('message', (msg: { cell: Cell; line?: ResultLine; error?: string }) => {
          record(msg.cell, msg.line, msg.error);
          feed(w);
        });
        w.on('error', (e) => {
          for (const p of pool) void p.terminate();
          reject(e);
        });
        feed(w);
      }
    });
  }
  bar.stop();
  const end = new Date();
  session.end = end.toISOString();
  session.seconds = (end.getTime() - start.getTime()) / 1000;
  session.cells.ran = ran;
  session.cells.failed = failed;
  writeRun(runPath, plan, opts.shard, session);
  if (opts.quiet !== true) {
    process.stderr.write(`${label}: ${ran} fits written to ${resultsPath} in ${session.seconds.toFixed(1)} s${failed > 0 ? `; ${failed} failed (see ${failuresPath}; rerun to retry them)` : ''}\n`);
  }
  return { resultsPath, runPath, total: mine.length, skipped, ran, failed, seconds: session.seconds };
}
