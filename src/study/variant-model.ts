/**
 * A variant's cell model at sample size n, built once per variant (or once per (variant, n) when
 * its truth or design depends on n, n-expressions.ts) and cached: config errors surface when the
 * study is checked, and a cell never recompiles its model.
 */
import { getKind, type CellModel } from './registry.js';
import { nDependence, type NDependence } from './n-expressions.js';
import { canonicalJson, type ResolvedVariant } from './schema.js';
import './kinds/index.js';

const built = new Map<string, CellModel>();
const dependences = new Map<string, NDependence | null>();

// model.scoring is outside the config hash (schema.ts) but changes the built model's losses.
const variantKey = (v: ResolvedVariant): string => `${v.name}\u0000${v.configHash}\u0000${v.model.scoring === undefined ? '' : canonicalJson(v.model.scoring)}`;

/** The variant's n-dependence (its expressions compiled once), or undefined when it has none. */
export function variantDependence(v: ResolvedVariant): NDependence | undefined {
  const key = variantKey(v);
  let d = dependences.get(key);
  if (d === undefined) {
    d = nDependence(v.model, v.path) ?? null;
    dependences.set(key, d);
  }
  return d ?? undefined;
}

/** Whether the variant's truth or design changes with n. */
export function dependsOnN(v: ResolvedVariant): boolean {
  return variantDependence(v) !== undefined;
}

/** The cell model of variant `v` at sample size `n` (n is ignored when nothing depends on it). */
export function modelAt(v: ResolvedVariant, n: number): CellModel {
  const dep = variantDependence(v);
  const key = dep === undefined ? variantKey(v) : `${variantKey(v)}\u0000${n}`;
  let m = built.get(key);
  if (m === undefined) {
    m = getKind(v.model.kind, v.path).build(dep === undefined ? v.model : dep.at(n), v.estimator, v.path);
    built.set(key, m);
  }
  return m;
}
