/**
 * Loss names are checked with the config, before any cell runs: the study's "loss" must be a loss
 * every variant's model reports, and a claim's "loss" one its variants report. Valid names are
 * the built model's `lossNames` (or its kind's) plus the generic per-atom losses
 * (generic-losses.ts). A kind that declares no names is not checked here (its cells still are).
 */
import { InputError } from '../util/errors.js';
import { GENERIC_LOSSES } from './generic-losses.js';
import { getKind, type CellModel, type ModelKind } from './registry.js';
import { modelAt } from './variant-model.js';
import type { ResolvedVariant, StudyConfig } from './schema.js';

export interface BuiltVariant {
  readonly variant: ResolvedVariant;
  readonly kind: ModelKind;
  readonly model: CellModel;
}

/** The loss names a built variant accepts, or undefined when its kind declares none. */
export function validLossNames(b: BuiltVariant): string[] | undefined {
  const own = b.model.lossNames ?? b.kind.lossNames;
  return own === undefined ? undefined : [...new Set([...own, ...GENERIC_LOSSES])];
}

/** Throws an InputError naming `loss` or `claims[i].loss` and listing the valid names. */
export function checkLossNames(study: StudyConfig, built: ReadonlyArray<BuiltVariant>): void {
  const check = (field: string, loss: string, names: ReadonlyArray<string>): void => {
    for (const name of names) {
      // A claim names a variant, or the base variant of protocol-crossed ones ("vpt over" for "vpt over [fixed]").
      for (const b of built.filter((x) => x.variant.name === name || x.variant.base === name)) {
        const valid = validLossNames(b);
        if (valid !== undefined && !valid.includes(loss))
          throw new InputError(field, `a loss the ${b.kind.kind} model of variant "${b.variant.name}" measures: one of ${valid.join(', ')}`, JSON.stringify(loss));
      }
    }
  };
  check('loss', study.loss, built.map((b) => b.variant.name));
  const claims = (study as { claims?: ReadonlyArray<{ loss?: unknown; variants?: unknown }> }).claims ?? [];
  claims.forEach((c, i) => {
    if (typeof c.loss !== 'string' || !Array.isArray(c.variants)) return;
    check(`claims[${i}].loss`, c.loss, c.variants.filter((v): v is string => typeof v === 'string'));
  });
}

/** Build every variant at sample size n (errors name the field) and check the study's loss names against them. */
export function checkStudyLosses(study: StudyConfig, variants: ReadonlyArray<ResolvedVariant>, n: number): void {
  checkLossNames(
    study,
    variants.map((variant) => ({ variant, kind: getKind(variant.model.kind, variant.path), model: modelAt(variant, n) })),
  );
}
