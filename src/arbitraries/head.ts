/** Attention heads (W_Q, W_K: d x dk; W_V: d x dv) with entries in [-scale, scale]. */
import fc from 'fast-check';
import type { Head } from '../attention/types.js';
import type { Dims } from './dims.js';
import { matrixArb } from './matrix.js';

export function headArb(dims: Pick<Dims, 'd' | 'dk' | 'dv'>, scale = 1): fc.Arbitrary<Head> {
  return fc.record({ WQ: matrixArb(dims.d, dims.dk, scale), WK: matrixArb(dims.d, dims.dk, scale), WV: matrixArb(dims.d, dims.dv, scale) });
}
