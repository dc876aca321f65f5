/**
 * Raise a variant's iteration cap without refitting what the cap did not touch.
 *
 * Levenberg-Marquardt (src/estimate/least-squares.ts) uses maxIterations only as its loop bound,
 * and a cell's seed does not depend on the config (deriveSeed(study.seed, variant, n, rep)). So a
 * fit that stopped before a cap M is, bit for bit, the fit under any cap M' > M; only a fit that
 * M stopped (for multistart: a fit with any start that M stopped, since that start could win once
 * it runs on) can come out otherwise. After study.json raises a variant's
 * estimator.maxIterations from M to M', `recap --from-cap M`:
 *
 *   - finds the lines made under the variant's config with maxIterations = M (their config hash is
 *     recomputed from today's config with the cap set back to M, so nothing else may have changed);
 *   - keeps every such line whose fit no start of which stopped at the cap, with the new config hash;
 *   - drops the others, so the next `simulate` refits exactly those cells under M'.
 *
 * The result is the results file a run under M' from the start would have written (test:
 * test/study/recap.test.ts), at the cost of the capped cells only. Only model kinds whose fit
 * depends on the cap through the loop bound alone are accepted (RECAP_KINDS).
 */
import { InputError } from '../util/errors.js';
import { checkOutputFile } from '../util/files.js';
import { acquireLock } from '../util/lock.js';
import type { ResultLine } from './cell.js';
import { readResults, resultsFile, rewriteResults } from './runner.js';
import { planStudy, variantConfigHash, type ResolvedVariant, type StudyConfig } from './schema.js';

/** Kinds fitted by Levenberg-Marquardt, whose cap enters only as the loop bound. */
export const RECAP_KINDS: ReadonlyArray<string> = ['prompt-mixture'];

export interface RecapOptions {
  /** The cap the lines were made under. */
  readonly fromCap: number;
  /** Only these variants (full names, or base names covering every protocol); default: every variant whose cap is above fromCap. */
  readonly variants?: ReadonlyArray<string>;
  readonly quick?: boolean;
  /** Count, but write nothing. */
  readonly dryRun?: boolean;
}

export interface RecapSummary {
  readonly out: string;
  /** Per variant: lines kept under the new hash, and lines dropped to be refitted. */
  readonly variants: ReadonlyArray<{ readonly variant: string; readonly fromCap: number; readonly toCap: number; readonly kept: number; readonly dropped: number }>;
  /** Lines left as they were (other variants, other configs). */
  readonly untouched: number;
}

/** Whether the cap stopped the fit or any of its starts (a line without stop reasons: whenever not converged). */
export function stoppedByCap(line: ResultLine): boolean {
  if (line.starts !== undefined && line.starts.some((s) => s.stopReason === 'maxIterations')) return true;
  if (line.stopReason !== undefined) return line.stopReason === 'maxIterations' || line.atCap === true;
  return !line.converged;
}

function capOf(v: ResolvedVariant): number | undefined {
  const m = v.estimator.maxIterations;
  return typeof m === 'number' ? m : undefined;
}

export function recapStudy(study: StudyConfig, dir: string, opts: RecapOptions): RecapSummary {
  const { fromCap } = opts;
  if (!Number.isInteger(fromCap) || fromCap < 1) throw new InputError('--from-cap', 'the positive integer cap the lines were made under (e.g. --from-cap 3000)', String(fromCap));
  const quick = opts.quick === true;
  const out = resultsFile(dir, quick);
  checkOutputFile(out);
  const plan = planStudy(study, quick && study.quick !== undefined);
  const named = (v: ResolvedVariant): boolean => opts.variants === undefined || opts.variants.includes(v.name) || opts.variants.includes(v.base);
  for (const name of opts.variants ?? []) {
    if (!plan.variants.some((v) => v.name === name || v.base === name)) throw new InputError('--variant', `one of the study's variants (${plan.variants.map((v) => v.name).join(', ')})`, JSON.stringify(name));
  }
  const targets = new Map<string, { v: ResolvedVariant; oldHash: string; toCap: number }>();
  for (const v of plan.variants.filter(named)) {
    const toCap = capOf(v);
    if (toCap === undefined || toCap <= fromCap) {
      if (opts.variants !== undefined) throw new InputError(`${v.path}.estimator.maxIterations`, `a cap above --from-cap ${fromCap} (raise it in study.json first)`, String(toCap ?? 'none'));
      continue;
    }
    if (!RECAP_KINDS.includes(String(v.model.kind))) throw new InputError(`${v.path}.model.kind`, `a kind whose fit uses the cap only as its loop bound (${RECAP_KINDS.join(', ')}); refit other kinds`, JSON.stringify(v.model.kind));
    targets.set(v.name, { v, oldHash: variantConfigHash(v.model, { ...v.estimator, maxIterations: fromCap }, study.loss), toCap });
  }
  if (targets.size === 0) throw new InputError('--from-cap', `a cap below some variant's estimator.maxIterations (none is above ${fromCap}: raise the cap in study.json first)`, String(fromCap));
  const lock = opts.dryRun === true ? undefined : acquireLock(out);
  try {
    const lines = readResults(out);
    if (lines.length === 0) throw new InputError(out, 'a results file with at least one line (run `prompt-experts simulate` first)');
    const counts = new Map<string, { kept: number; dropped: number }>([...targets.keys()].map((k) => [k, { kept: 0, dropped: 0 }]));
    let untouched = 0;
    const next: ResultLine[] = [];
    for (const line of lines) {
      const t = targets.get(line.variant);
      if (t === undefined || line.configHash !== t.oldHash) {
        untouched++;
        next.push(line);
        continue;
      }
      const c = counts.get(line.variant) as { kept: number; dropped: number };
      if (stoppedByCap(line)) c.dropped++;
      else {
        c.kept++;
        next.push({ ...line, configHash: t.v.configHash });
      }
    }
    if (opts.dryRun !== true) {
      rewriteResults(out, next);
    }
    return { out, untouched, variants: [...targets.values()].map(({ v, toCap }) => ({ variant: v.name, fromCap, toCap, ...(counts.get(v.name) as { kept: number; dropped: number }) })) };
  } finally {
    lock?.release();
  }
}
