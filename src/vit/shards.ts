/**
 * Shards of a ViT study (`vit sweep|planted --shard i/N`) and their merge (`vit merge`).
 *
 * A shard runs the cells whose position in the study's cell order is i-1 (mod N) and writes
 * results.shard-i-of-N.jsonl / run.shard-i-of-N.json beside study.json, as the simulation's
 * shards do, so N processes can share one machine (a GPU whose kernels are launch-bound, or the
 * float64 fits of a planted layer on many cores). The backbone must exist before the shards
 * start (`vit backbone`): N processes pretraining into the same folder would overwrite each other.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import { readJsonl } from './results.js';
import { acquireLock } from '../util/lock.js';
import { resultsFile, runFile, type Shard } from '../study/runner.js';
import { addShardSessions, shardFiles, type MergeSummary } from '../study/merge.js';
import { hasBackbone } from './train/pretrain.js';

/** The cells of one shard: position i-1 (mod N) of the study's order; all of them without a shard. */
export function vitShardCells<T>(cells: ReadonlyArray<T>, shard?: Shard): T[] {
  return shard === undefined ? [...cells] : cells.filter((_, i) => i % shard.count === shard.index - 1);
}

/** The flag as a session's command line records it: ' --shard i/N', or '' for a whole run. */
export function shardFlag(shard?: Shard): string {
  return shard === undefined ? '' : ` --shard ${shard.index}/${shard.count}`;
}

/** A shard reads the study's backbone; it never pretrains one (see the file comment). */
export function requireBackboneForShard(dir: string, studyPath: string, shard?: Shard): void {
  if (shard !== undefined && !hasBackbone(join(dir, 'backbone')))
    throw new InputError('--shard', `a study whose backbone exists (run \`prompt-experts vit backbone ${studyPath}\` once before starting the shards)`, `no ${join(dir, 'backbone')}`);
}

export interface VitMergeSpec<L> {
  /** The cell a line belongs to, or undefined for lines the merge drops (slope lines, recomputed). */
  readonly key: (line: L) => string | undefined;
  /** Canonical cell keys in study order: merged lines are sorted by it (unknown keys last). */
  readonly order: ReadonlyArray<string>;
  /** Lines appended after the merged cells (e.g. slopes recomputed from them), given the dropped
   * lines results.jsonl held (to keep them where nothing but a timestamp would change). */
  readonly tail?: (cells: L[], previous: L[]) => L[];
}

/** What a merge did: the same summary as the simulation studies' merge. */
export type VitMergeSummary = MergeSummary;

/**
 * Merge results.jsonl and the shard files (or `inputs`) of a ViT study folder into results.jsonl:
 * one line per cell (the first copy wins: results.jsonl, then the inputs in order); results.jsonl's
 * lines keep their order and the new cells follow in study order (a staged study config merges
 * into a file that holds other stages); run.json gains every shard's sessions, tagged with the shard.
 */
export function mergeVitStudy<L>(dir: string, quick: boolean, spec: VitMergeSpec<L>, inputs?: string[]): VitMergeSummary {
  const out = resultsFile(dir, quick);
  const files = inputs !== undefined && inputs.length > 0 ? inputs : shardFiles(dir, quick);
  if (files.length === 0) throw new InputError(dir, `shard results files (results.shard-I-of-N${quick ? '.quick' : ''}.jsonl) or results files named on the command line`, 'none');
  for (const p of files) if (!existsSync(p)) throw new InputError(p, 'an existing results file');
  const lock = acquireLock(out);
  try {
    const seen = new Map<string, L>();
    let duplicates = 0;
    const previous: L[] = [];
    const take = (p: string): Array<[string, L]> => {
      const fresh: Array<[string, L]> = [];
      for (const line of readJsonl<L>(p)) {
        const k = spec.key(line);
        if (k === undefined) {
          if (p === out) previous.push(line);
          continue;
        }
        if (seen.has(k)) duplicates += 1;
        else {
          seen.set(k, line);
          fresh.push([k, line]);
        }
      }
      return fresh;
    };
    // results.jsonl keeps its lines and their order; the shards' new cells follow in study order.
    const kept = take(out).map(([, l]) => l);
    const rank = new Map(spec.order.map((k, i) => [k, i]));
    const added = files
      .filter((f) => f !== out)
      .flatMap(take)
      .sort(([a], [b]) => (rank.get(a) ?? 1e12) - (rank.get(b) ?? 1e12) || a.localeCompare(b))
      .map(([, l]) => l);
    const cells = [...kept, ...added];
    const all = [...cells, ...(spec.tail?.(cells, previous) ?? [])];
    const tmp = `${out}.tmp`;
    writeFileSync(tmp, all.map((l) => `${JSON.stringify(l)}\n`).join(''));
    renameSync(tmp, out);
    mergeRuns(dir, quick, files);
    const have = new Set(seen.keys());
    return { out, inputs: files, lines: cells.length, duplicates, missing: spec.order.filter((k) => !have.has(k)).length, total: spec.order.length };
  } finally {
    lock.release();
  }
}

/** run.json ({study, sessions}) gains the sessions of each input's run.shard-*.json. */
function mergeRuns(dir: string, quick: boolean, files: ReadonlyArray<string>): void {
  const runPath = runFile(dir, quick);
  type Record_ = { study?: unknown; sessions?: Array<Record<string, unknown>>; mergedFrom?: string[] };
  let run: Record_ = { sessions: [] };
  if (existsSync(runPath)) {
    try {
      run = JSON.parse(readFileSync(runPath, 'utf8')) as Record_;
    } catch {
      run = { sessions: [] };
    }
  }
  const sessions: unknown[] = Array.isArray(run.sessions) ? [...run.sessions] : [];
  const merged: string[] = [...(run.mergedFrom ?? [])];
  for (const { input, run: r } of addShardSessions<Record_>(dir, quick, files, sessions, (_r, shard) => ({ shard }))) {
    if (run.study === undefined) run.study = r.study;
    const name = input.slice(dir.length).replace(/^[\\/]/, '');
    if (!merged.includes(name)) merged.push(name);
  }
  writeFileSync(runPath, `${JSON.stringify({ ...run, mergedFrom: merged, sessions }, null, 1)}\n`);
}
