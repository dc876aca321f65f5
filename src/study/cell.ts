/**
 * One cell of a study grid: simulate n samples of a variant's true model with the cell's seed,
 * fit, measure the losses, and return the results line. Used both in-process (`--workers 0`)
 * and inside worker threads (worker.ts), so both paths give byte-identical lines up to timings.
 */
import { makeRng } from '../util/rng.js';
import { measureToJson } from '../mixture/measure.js';
import { InputError } from '../util/errors.js';
import { getKind, type CellModel } from './registry.js';
import type { ResolvedVariant } from './schema.js';
import './kinds/index.js';

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
}

const built = new Map<string, CellModel>();

function modelFor(v: ResolvedVariant): CellModel {
  const key = `${v.name}\u0000${v.configHash}`;
  let m = built.get(key);
  if (m === undefined) {
    m = getKind(v.model.kind, v.path).build(v.model, v.estimator, v.path);
    built.set(key, m);
  }
  return m;
}

/** Build every variant's model once: config errors surface before any work starts. */
export function checkVariants(variants: ReadonlyArray<ResolvedVariant>): void {
  for (const v of variants) modelFor(v);
}

export function runCell(v: ResolvedVariant, mainLoss: string, cell: Cell): ResultLine {
  const t0 = performance.now();
  const model = modelFor(v);
  const rng = makeRng(cell.seed);
  const simRng = rng.fork();
  const fitRng = rng.fork();
  const { samples, truth } = model.simulate(cell.n, simRng);
  const fit = model.fit(samples, truth, fitRng);
  const losses = model.losses(fit, truth);
  const loss = losses[mainLoss];
  if (loss === undefined) throw new InputError('loss', `one of the losses the ${String(v.model.kind)} model measures (${Object.keys(losses).join(', ')})`, JSON.stringify(mainLoss));
  const d = fit.diagnostics;
  return {
    variant: cell.variant,
    n: cell.n,
    rep: cell.rep,
    seed: cell.seed,
    loss,
    losses,
    iterations: d.iterations,
    converged: d.converged,
    objective: d.objective,
    restarts: d.restarts,
    seconds: d.seconds,
    cellSeconds: (performance.now() - t0) / 1000,
    configHash: v.configHash,
    estimate: measureToJson(fit.measure),
  };
}
