/** Token matrices X (N x d). */
import fc from 'fast-check';
import type { Mat } from '../linalg/mat.js';
import { matrixArb } from './matrix.js';

export function tokensArb(N: number, d: number, scale = 1): fc.Arbitrary<Mat> {
  return matrixArb(N, d, scale);
}
