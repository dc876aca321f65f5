/** Float64 matrices with entries uniform-ish in [-scale, scale] (no NaN, no infinities). */
import fc from 'fast-check';
import type { Mat } from '../linalg/mat.js';

export function matrixArb(rows: number, cols: number, scale = 1): fc.Arbitrary<Mat> {
  return fc
    .float64Array({ min: -scale, max: scale, noNaN: true, noDefaultInfinity: true, minLength: rows * cols, maxLength: rows * cols })
    .map((data) => ({ rows, cols, data: Float64Array.from(data, (v) => (Object.is(v, -0) ? 0 : v)) }));
}

export function vectorArb(length: number, scale = 1): fc.Arbitrary<Float64Array> {
  return matrixArb(1, length, scale).map((m) => m.data);
}
