/**
 * Linear solves through ml-matrix: (A^T A + lambda D) x = A^T r for Levenberg-Marquardt steps,
 * and general symmetric positive-definite solves by Cholesky with an LU fallback.
 */
import { CholeskyDecomposition, LuDecomposition, Matrix } from 'ml-matrix';
import type { Mat } from './mat.js';

function toMatrix(m: Mat): Matrix {
  const out = new Matrix(m.rows, m.cols);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) out.set(i, j, m.data[i * m.cols + j] as number);
  return out;
}

/** Solve S x = b for symmetric S: Cholesky when S is positive definite, LU otherwise. */
export function solveSymmetric(s: Mat, b: Float64Array): Float64Array {
  const S = toMatrix(s);
  const B = Matrix.columnVector(Array.from(b));
  const chol = new CholeskyDecomposition(S);
  const x = chol.isPositiveDefinite() ? chol.solve(B) : new LuDecomposition(S).solve(B);
  return Float64Array.from(x.getColumn(0));
}

/**
 * Solve the small symmetric system M x = v (m x m, row-major in a Float64Array): Cholesky when M
 * is positive definite, LU otherwise. Returns null when M is singular or the solution is not finite.
 */
export function solveSpdFlat(M: Float64Array, v: Float64Array, m: number): Float64Array | null {
  const mm = toMatrix({ rows: m, cols: m, data: M });
  const rhs = Matrix.columnVector(Array.from(v));
  const chol = new CholeskyDecomposition(mm);
  let x: Matrix;
  if (chol.isPositiveDefinite()) x = chol.solve(rhs);
  else {
    const lu = new LuDecomposition(mm);
    if (lu.isSingular()) return null;
    x = lu.solve(rhs);
  }
  const out = Float64Array.from(x.getColumn(0));
  return out.every(Number.isFinite) ? out : null;
}
