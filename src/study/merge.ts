/**
 * Combine results files (the shards of a study run on several machines, or copies from
 * several runs) into one: lines are deduplicated by cell (variant, n, rep), the first copy
 * wins, and two copies of a cell made with different variant configs are an error. The merged
 * file is written in canonical order (variant as in study.json, n, rep) so merging the same
 * inputs always gives the same bytes; run.json gains the shards' sessions.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import { checkOutputFile } from '../util/files.js';
import { acquireLock } from '../util/lock.js';
import type { ResultLine } from './cell.js';
import { cellKey, gridCells, readResults, resultsFile, runFile } from './runner.js';
import { planStudy, type StudyConfig } from './schema.js';

export interface MergeSummary {
  readonly out: string;
  readonly inputs: string[];
  readonly lines: number;
  readonly duplicates: number;
  /** Cells of the plan with no line yet. */
  readonly missing: number;
  readonly total: number;
}

/** Dedup lines by cell; the first copy wins. Throws if two copies carry different config hashes. */
export function dedupLines(groups: ReadonlyArray<{ source: string; lines: ReadonlyArray<ResultLine> }>): { lines: ResultLine[]; duplicates: number } {
  const seen = new Map<string, { line: ResultLine; source: string }>();
  let duplicates = 0;
  for (const g of groups)
    for (const line of g.lines) {
      const k = cellKey(line);
      const first = seen.get(k);
      if (first === undefined) seen.set(k, { line, source: g.source });
      else {
        duplicates++;
        if (first.line.configHash !== line.configHash)
          throw new InputError(g.source, `lines made with the same config as ${first.source}`, `variant "${line.variant}" n=${line.n} rep=${line.rep} with config hash ${line.configHash} against ${first.line.configHash}`);
      }
    }
  return { lines: [...seen.values()].map((s) => s.line), duplicates };
}

/**
 * For each input results.shard-I-of-N[.quick].jsonl, its run.shard-I-of-N[.quick].json: every
 * session, tagged by `tag` (given the run record and "I/N"), is appended to `sessions` unless an
 * equal one is there. Returns the run records read; a missing or damaged one only loses provenance.
 * Shared by this merge and the ViT studies' (src/vit/shards.ts), whose run.json differ otherwise.
 */
export function addShardSessions<R extends { sessions?: Record<string, unknown>[] }>(
  dir: string,
  quick: boolean,
  inputs: ReadonlyArray<string>,
  sessions: unknown[],
  tag: (run: R, shard: string) => Record<string, unknown>,
): Array<{ input: string; run: R }> {
  const seen = new Set(sessions.map((s) => JSON.stringify(s)));
  const runs: Array<{ input: string; run: R }> = [];
  for (const p of inputs) {
    const m = /results(\.shard-(\d+)-of-(\d+))?(\.quick)?\.jsonl$/.exec(p);
    if (m?.[1] === undefined) continue;
    const shardRun = join(dir, `run${m[1]}${quick ? '.quick' : ''}.json`);
    if (!existsSync(shardRun)) continue;
    try {
      const r = JSON.parse(readFileSync(shardRun, 'utf8')) as R;
      for (const s of r.sessions ?? []) {
        const tagged = { ...tag(r, `${m[2]}/${m[3]}`), ...s };
        const key = JSON.stringify(tagged);
        if (!seen.has(key)) {
          sessions.push(tagged);
          seen.add(key);
        }
      }
      runs.push({ input: p, run: r });
    } catch {
      /* a damaged shard run.json only loses provenance */
    }
  }
  return runs;
}

/** Shard results files of a study folder (results.shard-I-of-N[.quick].jsonl). */
export function shardFiles(dir: string, quick: boolean): string[] {
  const re = quick ? /^results\.shard-\d+-of-\d+\.quick\.jsonl$/ : /^results\.shard-\d+-of-\d+\.jsonl$/;
  return readdirSync(dir)
    .filter((f) => re.test(f))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((f) => join(dir, f));
}

export function mergeStudy(study: StudyConfig, dir: string, opts: { quick?: boolean; inputs?: string[] } = {}): MergeSummary {
  const quick = opts.quick === true;
  const out = resultsFile(dir, quick);
  const inputs = opts.inputs !== undefined && opts.inputs.length > 0 ? opts.inputs : shardFiles(dir, quick);
  if (inputs.length === 0)
    throw new InputError(dir, `shard results files (results.shard-I-of-N${quick ? '.quick' : ''}.jsonl) or results files named after the folder`, 'none');
  for (const p of inputs) if (!existsSync(p)) throw new InputError(p, 'an existing results file');
  const runPath = runFile(dir, quick);
  for (const p of [out, runPath]) checkOutputFile(p);
  const lock = acquireLock(out);
  try {
    return mergeLocked(study, dir, quick, inputs);
  } finally {
    lock.release();
  }
}

function mergeLocked(study: StudyConfig, dir: string, quick: boolean, inputs: string[]): MergeSummary {
  const out = resultsFile(dir, quick);
  const runPath = runFile(dir, quick);
  const groups = [{ source: out, lines: readResults(out) }, ...inputs.filter((p) => p !== out).map((p) => ({ source: p, lines: readResults(p) }))];
  const { lines, duplicates } = dedupLines(groups);

  const plan = planStudy(study, quick && study.quick !== undefined);
  const order = new Map(study.variants.map((v, i) => [v.name, i]));
  lines.sort((a, b) => (order.get(a.variant) ?? 1e9) - (order.get(b.variant) ?? 1e9) || a.variant.localeCompare(b.variant) || a.n - b.n || a.rep - b.rep);
  const tmp = `${out}.tmp`;
  writeFileSync(tmp, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  renameSync(tmp, out);

  const have = new Set(lines.map(cellKey));
  const grid = gridCells(plan);
  const missing = grid.filter((c) => !have.has(cellKey(c))).length;

  // run.json: keep its sessions and add every shard's, tagged with the shard.
  let run: Record<string, unknown> & { sessions?: unknown[] } = {};
  if (existsSync(runPath)) {
    try {
      run = JSON.parse(readFileSync(runPath, 'utf8')) as typeof run;
    } catch {
      run = {};
    }
  }
  const sessions: unknown[] = Array.isArray(run.sessions) ? [...run.sessions] : [];
  const runs = addShardSessions<{ shard?: string; sessions?: Record<string, unknown>[]; configHash?: string }>(dir, quick, inputs, sessions, (r) => ({ shard: r.shard ?? null }));
  for (const { run: r } of runs) if (run.configHash === undefined && r.configHash !== undefined) run.configHash = r.configHash;
  const merged = {
    study: study.name,
    quick,
    shard: null,
    ...run,
    n: plan.n,
    replications: plan.replications,
    seed: study.seed,
    variants: Object.fromEntries(plan.variants.map((v) => [v.name, v.configHash])),
    mergedFrom: inputs.map((p) => p.slice(dir.length).replace(/^[\\/]/, '')),
    sessions,
  };
  writeFileSync(runPath, `${JSON.stringify(merged, null, 2)}\n`);
  return { out, inputs, lines: lines.length, duplicates, missing, total: grid.length };
}
