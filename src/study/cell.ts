/**
 * One cell of a study grid: simulate n samples of a variant's true model with the cell's seed,
 * fit, measure the losses, and return the results line. Used both in-process (`--workers 0`)
 * and inside worker threads (worker.ts), so both paths give byte-identical lines up to timings.
 */
import { makeRng } from '../util/rng.js';
import { measureToJson, type MixingMeasure } from '../mixture/measure.js';
import { atomReport, type AtomHealthOptions, type CellReport, type FittedAtomReport } from '../loss/atoms.js';
import type { StartRecord } from '../estimate/estimator.js';
import { InputError } from '../util/errors.js';
import type { ResolvedVariant, StudyConfig } from './schema.js';
import { dependsOnN, modelAt } from './variant-model.js';

export interface Cell {
  readonly variant: string;
  readonly n: number;
  readonly rep: number;
  readonly seed: number;
  /** Position in the canonical grid order (variants, then n ascending, then rep): what --shard splits. */
  readonly index: number;
}

/**
 * One line of results.jsonl. Everything a rate fit or a figure needs, and the fit's diagnostics.
 *   loss       the study's main loss (study.json "loss")
 *   losses     every loss the model kind measures, the main one included
 *   seconds    fit time (estimator only); cellSeconds: simulate + fit + losses
 *   configHash the variant's resolved config hash: lines from an older config are never mixed in
 *   estimate   the fitted measure: [{ weight?, params: { name: number[] } }]
 *   protocol   the start protocol (src/estimate/init.ts) of the estimator
 *   stopReason why the (best) fit stopped; atCap: it stopped at the iteration cap (never converged)
 *   starts     every start of a multi-start fit: { objective, iterations, converged, stopReason }
 *   atoms      per fitted atom: its cell (nearest true atom), weight, unweighted distance, per block
 *   cells      per true atom: cell size, sum of fitted weights, true weight
 *   switchedOff, escaped   health flags at the study's thresholds (rates recomputes them from atoms)
 *   truth      the cell's true measure, only for variants whose truth depends on n (n-expressions.ts)
 */
export interface ResultLine {
  readonly variant: string;
  readonly n: number;
  readonly rep: number;
  readonly seed: number;
  readonly loss: number;
  readonly losses: Record<string, number>;
  readonly iterations: number;
  readonly converged: boolean;
  readonly objective: number;
  readonly restarts: number;
  readonly seconds: number;
  readonly cellSeconds: number;
  readonly configHash: string;
  /** The fitted mixing measure (atoms with weight and named parameters), so losses can be recomputed without refitting. */
  readonly estimate?: ReturnType<typeof measureToJson>;
  readonly protocol?: string;
  readonly stopReason?: string;
  readonly atCap?: boolean;
  readonly starts?: ReadonlyArray<StartRecord>;
  readonly bestStart?: number;
  readonly atoms?: ReadonlyArray<FittedAtomReport>;
  readonly cells?: ReadonlyArray<CellReport>;
  readonly switchedOff?: boolean;
  readonly escaped?: boolean;
  /** The true measure this cell was simulated from and scored against (n-dependent truths only). */
  readonly truth?: ReturnType<typeof measureToJson>;
}

/**
 * Claims restricted to a regime ("exact" / "over") may name only variants of that regime (as
 * their kind reports it at the grid's first n): an exact-specified variant never carries an
 * over-specified claim.
 */
export function checkClaimRegimes(study: StudyConfig, variants: ReadonlyArray<ResolvedVariant>, n: number): void {
  (study.claims ?? []).forEach((c, i) => {
    if (c.regime === 'any') return;
    c.variants.forEach((name, j) => {
      for (const v of variants.filter((x) => x.base === name || x.name === name)) {
        const r = modelAt(v, n).regime;
        if (r !== c.regime) throw new InputError(`claims[${i}].variants[${j}]`, `a variant of the claim's regime (${c.regime}-specified)`, `${JSON.stringify(name)}, which is ${r === undefined ? 'of no stated regime' : `${r}-specified`}`);
      }
    });
  });
}

/**
 * Build every variant's model (at every n of the grid when its truth or design depends on n):
 * config errors, bad expressions in n included, surface before any work starts.
 */
export function checkVariants(variants: ReadonlyArray<ResolvedVariant>, ns: ReadonlyArray<number>): void {
  for (const v of variants) for (const n of dependsOnN(v) ? ns : ns.slice(0, 1)) modelAt(v, n);
}

/** The true measure of a variant, when its kind fixes one for every cell (written to truth.json). */
export function variantTruth(v: ResolvedVariant): MixingMeasure | undefined {
  return dependsOnN(v) ? undefined : modelAt(v, 0).truth;
}

/** The true measure of an n-dependent variant at each n of the grid (written to truth.json). */
export function variantTruthsByN(v: ResolvedVariant, ns: ReadonlyArray<number>): Record<string, MixingMeasure> | undefined {
  if (!dependsOnN(v)) return undefined;
  const out: Record<string, MixingMeasure> = {};
  for (const n of ns) {
    const t = modelAt(v, n).truth;
    if (t !== undefined) out[String(n)] = t;
  }
  return out;
}

export function runCell(v: ResolvedVariant, mainLoss: string, cell: Cell, health: AtomHealthOptions = {}): ResultLine {
  const t0 = performance.now();
  const model = modelAt(v, cell.n);
  const rng = makeRng(cell.seed);
  const simRng = rng.fork();
  const fitRng = rng.fork();
  const { samples, truth } = model.simulate(cell.n, simRng);
  const fit = model.fit(samples, truth, fitRng);
  const report = truth.atoms.length > 0 && fit.measure.atoms.length > 0 ? atomReport(fit.measure, truth, health) : undefined;
  const losses: Record<string, number> = { ...model.losses(fit, truth), ...(report?.losses ?? {}) };
  const loss = losses[mainLoss];
  if (loss === undefined) throw new InputError('loss', `one of the losses the ${String(v.model.kind)} model measures (${Object.keys(losses).join(', ')})`, JSON.stringify(mainLoss));
  const d = fit.diagnostics;
  const stopReason = d.stopReason ?? (d.converged ? 'tolerance' : 'maxIterations');
  const atCap = stopReason === 'maxIterations';
  return {
    variant: cell.variant,
    n: cell.n,
    rep: cell.rep,
    seed: cell.seed,
    loss,
    losses,
    iterations: d.iterations,
    converged: d.converged && !atCap,
    objective: d.objective,
    restarts: d.restarts,
    seconds: d.seconds,
    cellSeconds: (performance.now() - t0) / 1000,
    configHash: v.configHash,
    estimate: measureToJson(fit.measure),
    ...(model.protocol === undefined ? {} : { protocol: model.protocol }),
    stopReason,
    atCap,
    ...(d.starts === undefined ? {} : { starts: d.starts, bestStart: d.bestStart ?? 0 }),
    ...(report === undefined ? {} : { atoms: report.atoms, cells: report.cells, switchedOff: report.switchedOff, escaped: report.escaped }),
    ...(dependsOnN(v) ? { truth: measureToJson(truth) } : {}),
  };
}
