/** Test helpers: Gaussian matrices from a seed (non-degenerate weights for kind checks). */
import type { Mat } from '../../src/linalg/mat.js';
import type { Rng } from '../../src/util/rng.js';

export function gauss(rng: Rng, rows: number, cols: number, scale = 1): Mat {
  const data = new Float64Array(rows * cols);
  for (let k = 0; k < data.length; k++) data[k] = scale * rng.normal();
  return { rows, cols, data };
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k] as number));
  return m;
}
