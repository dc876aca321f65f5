/**
 * Model kinds a study can name. A kind turns a variant's resolved "model" and "estimator" blocks
 * into a `CellModel`: what one cell (variant, n, rep) of the grid does:
 *
 *   simulate(n, rng)            -> { samples, truth }    draw n samples from the true model
 *   fit(samples, truth, rng)    -> FitResult             estimate (the truth is there for near-truth starts)
 *   losses(fit, truth)          -> { name: value, ... }  distances between fit and truth
 *
 * The study's "loss" names the main loss among those returned; a kind declares the names it
 * returns (`lossNames`, or the built model's when they depend on the config), so a study's
 * "loss" is checked against them before any cell runs. Kinds register themselves in `kinds`
 * (kinds/index.ts has the built-in ones); a user adds their own with `registerKind`, in
 * process or from a study's "plugins" (loaded in every worker thread, see plugins.ts).
 */
import type { z } from 'zod';
import type { FitResult } from '../estimate/estimator.js';
import type { Samples } from '../mixture/family.js';
import type { MixingMeasure } from '../mixture/measure.js';
import type { Rng } from '../util/rng.js';
import { InputError } from '../util/errors.js';

export interface Simulated {
  readonly samples: Samples;
  readonly truth: MixingMeasure;
}

export interface CellModel {
  simulate(n: number, rng: Rng): Simulated;
  fit(samples: Samples, truth: MixingMeasure, rng: Rng): FitResult;
  losses(fit: FitResult, truth: MixingMeasure): Record<string, number>;
  /** 'exact': as many fitted atoms as true ones; 'over': more. Claims may be restricted to one regime. */
  readonly regime?: 'exact' | 'over';
  /** The true mixing measure when it is the same in every cell (written once to truth.json). */
  readonly truth?: MixingMeasure;
  /** Names of the losses `losses` returns (the generic atoms-* losses come on top). */
  readonly lossNames?: ReadonlyArray<string>;
  /** The estimator's start protocol (src/estimate/init.ts), recorded in every results line. */
  readonly protocol?: string;
}

export interface ModelKind {
  readonly kind: string;
  /** One line for `simulate --help`. */
  readonly summary: string;
  /** Names of the losses its cells report (the study's "loss" must be one of them or a generic loss). */
  readonly lossNames?: ReadonlyArray<string>;
  /** Estimators its "estimator" block can name (its "kind" values), for `prompt-experts kinds`. */
  readonly estimators?: ReadonlyArray<string>;
  /** The zod schemas of its "model" and "estimator" blocks, for `prompt-experts kinds` (fields, defaults). */
  readonly schemas?: { readonly model: z.ZodType; readonly estimator: z.ZodType };
  /** Validate the blocks (errors name `${path}.model.<field>` / `${path}.estimator.<field>`) and build the cell model. */
  build(model: Record<string, unknown>, estimator: Record<string, unknown>, path: string): CellModel;
}

const kinds = new Map<string, ModelKind>();

/** Add (or replace) a model kind; studies name it in "model": { "kind": ... }. */
export function registerKind(kind: ModelKind): void {
  if (typeof kind?.kind !== 'string' || kind.kind === '' || typeof kind.build !== 'function') throw new InputError('registerKind', 'a ModelKind with a non-empty "kind" and a build function', typeof kind);
  kinds.set(kind.kind, kind);
}

export function listKinds(): ModelKind[] {
  return [...kinds.values()];
}

export function getKind(kind: unknown, path: string): ModelKind {
  const k = typeof kind === 'string' ? kinds.get(kind) : undefined;
  if (k === undefined) throw new InputError(`${path}.model.kind`, `one of ${[...kinds.keys()].join(', ')}`, JSON.stringify(kind));
  return k;
}
