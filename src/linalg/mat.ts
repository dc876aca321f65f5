/**
 * Dense float64 matrices, row-major on a Float64Array: the representation every hot loop of the
 * toolkit works on (attention scores, Jacobians, sufficient statistics). Decompositions and
 * solves are delegated to ml-matrix (see `solve.ts`); only the elementwise and product kernels
 * are written here, because ml-matrix stores nested arrays and its products allocate per row.
 */
export interface Mat {
  readonly rows: number;
  readonly cols: number;
  /** Entry (i, j) at data[i * cols + j]. */
  readonly data: Float64Array;
}

export function zeros(rows: number, cols: number): Mat {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

/** From nested arrays (rows of equal length; the caller has validated the shape). */
export function fromRows(rows: ReadonlyArray<ReadonlyArray<number>>): Mat {
  const r = rows.length;
  const c = r === 0 ? 0 : (rows[0] as ReadonlyArray<number>).length;
  const data = new Float64Array(r * c);
  rows.forEach((row, i) => data.set(row, i * c));
  return { rows: r, cols: c, data };
}

export function toRows(m: Mat): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < m.rows; i++) out.push(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
  return out;
}

export function get(m: Mat, i: number, j: number): number {
  return m.data[i * m.cols + j] as number;
}

export function row(m: Mat, i: number): Float64Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

/** C = A B. */
export function matmul(a: Mat, b: Mat): Mat {
  if (a.cols !== b.rows) throw new RangeError(`matmul: ${a.rows}x${a.cols} times ${b.rows}x${b.cols}`);
  const c = zeros(a.rows, b.cols);
  const { data: A } = a;
  const { data: B } = b;
  const C = c.data;
  const n = a.cols;
  const m = b.cols;
  for (let i = 0; i < a.rows; i++) {
    const ci = i * m;
    for (let k = 0; k < n; k++) {
      const aik = A[i * n + k] as number;
      if (aik === 0) continue;
      const bk = k * m;
      for (let j = 0; j < m; j++) C[ci + j] = (C[ci + j] as number) + aik * (B[bk + j] as number);
    }
  }
  return c;
}

/** C = A B^T. */
export function matmulT(a: Mat, b: Mat): Mat {
  if (a.cols !== b.cols) throw new RangeError(`matmulT: ${a.rows}x${a.cols} times (${b.rows}x${b.cols})^T`);
  const c = zeros(a.rows, b.rows);
  const n = a.cols;
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.rows; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += (a.data[i * n + k] as number) * (b.data[j * n + k] as number);
      c.data[i * b.rows + j] = s;
    }
  }
  return c;
}

export function transpose(a: Mat): Mat {
  const t = zeros(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) t.data[j * a.rows + i] = a.data[i * a.cols + j] as number;
  return t;
}

/** Stack rows of `a` above rows of `b` (same column count); `a` itself when `b` is absent or empty. */
export function vstack(a: Mat, b?: Mat): Mat {
  if (b === undefined || b.rows === 0) return a;
  if (a.cols !== b.cols && a.rows > 0 && b.rows > 0) throw new RangeError(`vstack: ${a.cols} vs ${b.cols} columns`);
  const cols = a.rows > 0 ? a.cols : b.cols;
  const out = zeros(a.rows + b.rows, cols);
  out.data.set(a.data, 0);
  out.data.set(b.data, a.rows * cols);
  return out;
}

export function scale(a: Mat, s: number): Mat {
  const out = zeros(a.rows, a.cols);
  for (let i = 0; i < a.data.length; i++) out.data[i] = (a.data[i] as number) * s;
  return out;
}

export function maxAbsDiff(a: Mat, b: Mat): number {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs((a.data[i] as number) - (b.data[i] as number)));
  return m;
}

/** Numerically stable softmax of a row, written into `out`. */
export function softmaxInto(scores: ArrayLike<number>, out: Float64Array): void {
  let mx = -Infinity;
  for (let j = 0; j < scores.length; j++) mx = Math.max(mx, scores[j] as number);
  let z = 0;
  for (let j = 0; j < scores.length; j++) {
    const e = Math.exp((scores[j] as number) - mx);
    out[j] = e;
    z += e;
  }
  for (let j = 0; j < scores.length; j++) out[j] = (out[j] as number) / z;
}
