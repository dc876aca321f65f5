/**
 * Losses every kind whose truth is a MixingMeasure reports: the study's cell computes them
 * generically from the fitted and the true measure (src/loss/atoms.ts), whatever the kind: the
 * unweighted per-atom errors in singleton cells, in multi-atom cells, and the smallest of those.
 * Loss-name validation accepts them for every kind, beside the kind's own `lossNames`.
 */
import { ATOM_LOSSES } from '../loss/atoms.js';

export const GENERIC_LOSSES = ATOM_LOSSES;

export type GenericLossName = (typeof GENERIC_LOSSES)[number];
