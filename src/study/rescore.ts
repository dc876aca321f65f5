/**
 * Re-score a study's results without refitting: every line of a current variant config carries
 * its fitted measure ("estimate"), and its truth is the variant's (truth.json) or the line's own
 * (n-dependent truths), so the losses a kind measures today (one added since the line was made,
 * say) can be recomputed from the line alone. The losses already on a line are recomputed too,
 * and the largest relative change among them is reported: a check that the scoring is the one
 * that made the line. Lines of other configs, or without an estimate, are left as they are.
 */
import { InputError } from '../util/errors.js';
import { checkOutputFile } from '../util/files.js';
import { acquireLock } from '../util/lock.js';
import { measureFromJson, type MixingMeasure } from '../mixture/measure.js';
import { atomReport, type AtomHealthOptions } from '../loss/atoms.js';
import type { FitResult } from '../estimate/estimator.js';
import type { ResultLine } from './cell.js';
import { loadPlugins, pluginUrls } from './plugins.js';
import { readResults, resultsFile, rewriteResults } from './runner.js';
import { healthOf, planStudy, type ResolvedVariant, type StudyConfig } from './schema.js';
import { modelAt } from './variant-model.js';

export interface RescoreSummary {
  readonly out: string;
  readonly rescored: number;
  /** Lines left as they were: of no current variant config, or without an estimate. */
  readonly skipped: number;
  /** Loss names that lines gained. */
  readonly added: ReadonlyArray<string>;
  /** Largest |new - old| / max(|old|, 1e-300) over the losses the lines already had. */
  readonly maxRelativeChange: number;
}

/** The line's losses recomputed from its estimate (kind losses and the generic atoms-* losses). */
export function rescoreLine(v: ResolvedVariant, line: ResultLine, mainLoss: string, health: AtomHealthOptions, where: string): ResultLine {
  const model = modelAt(v, line.n);
  const measure = measureFromJson(line.estimate, `${where}.estimate`);
  const truth: MixingMeasure | undefined = line.truth !== undefined ? measureFromJson(line.truth, `${where}.truth`) : model.truth;
  if (truth === undefined) throw new InputError(`${where}.truth`, 'the true measure (the variant\'s truth depends on n and the line does not carry it)');
  const fit: FitResult = { measure, diagnostics: { iterations: line.iterations, converged: line.converged, objective: line.objective, restarts: line.restarts, seconds: line.seconds } };
  const report = truth.atoms.length > 0 && measure.atoms.length > 0 ? atomReport(measure, truth, health) : undefined;
  const losses: Record<string, number> = { ...line.losses, ...model.losses(fit, truth), ...(report?.losses ?? {}) };
  return { ...line, losses, loss: losses[mainLoss] ?? line.loss };
}

export async function rescoreStudy(study: StudyConfig, dir: string, opts: { readonly quick?: boolean; readonly studyDir?: string } = {}): Promise<RescoreSummary> {
  const quick = opts.quick === true;
  await loadPlugins(pluginUrls(study.plugins, opts.studyDir ?? dir));
  const out = resultsFile(dir, quick);
  checkOutputFile(out);
  const plan = planStudy(study, quick && study.quick !== undefined);
  const variants = new Map(plan.variants.map((v) => [v.name, v]));
  const h = healthOf(study);
  const health: AtomHealthOptions = { switchedOffShare: h.switchedOff, escapeDistance: h.escaped };
  const lock = acquireLock(out);
  try {
    const numbers: number[] = [];
    const lines = readResults(out, false, numbers);
    if (lines.length === 0) throw new InputError(out, 'a results file with at least one line (run `prompt-experts simulate` first)');
    const added = new Set<string>();
    let rescored = 0;
    let maxRel = 0;
    const next = lines.map((line, i) => {
      const v = variants.get(line.variant);
      if (v === undefined || v.configHash !== line.configHash || line.estimate === undefined) return line;
      const r = rescoreLine(v, line, study.loss, health, `${out}:${numbers[i] ?? i + 1}`);
      for (const [name, val] of Object.entries(r.losses)) {
        const old = line.losses[name];
        if (old === undefined) added.add(name);
        else if (val !== old) maxRel = Math.max(maxRel, Math.abs(val - old) / Math.max(Math.abs(old), 1e-300));
      }
      rescored++;
      return r;
    });
    rewriteResults(out, next);
    return { out, rescored, skipped: lines.length - rescored, added: [...added].sort(), maxRelativeChange: maxRel };
  } finally {
    lock.release();
  }
}
