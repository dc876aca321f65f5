/**
 * Boundary validation for the prompt tools (moe-view, params): zod for the types, then shape
 * checks, each failure an InputError naming the field, what was expected and what came:
 *   `prompt.P[2]: expected an array of length 8 (d), got an array of length 7`.
 */
import type { z } from 'zod';
import { type Mat, zeros } from '../linalg/mat.js';
import { InputError, describe } from '../util/errors.js';
import { issueError } from '../util/schema.js';

/** Parse with zod; the first issue becomes `path: expected X, got Y`. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, base = '', hints: Record<string, string> = {}): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new InputError(base || 'root', 'a valid value');
  throw issueError(issue, value, base, 'generic', hints);
}

/** A nested number array as an R x C matrix; `rows`/`cols` fix the expected shape with a name. */
export function toMat(
  value: ReadonlyArray<ReadonlyArray<number>>,
  field: string,
  rows?: readonly [number, string],
  cols?: readonly [number, string],
): Mat {
  if (rows !== undefined && value.length !== rows[0]) {
    throw new InputError(field, `an array of length ${rows[0]} (${rows[1]})`, describe(value));
  }
  if (rows === undefined && value.length < 1) throw new InputError(field, 'an array of length >= 1', describe(value));
  const c = cols?.[0] ?? (value[0] as ReadonlyArray<number>).length;
  const what = cols?.[1] ?? `the length of ${field}[0]`;
  if (c < 1) throw new InputError(`${field}[0]`, 'an array of length >= 1', describe(value[0]));
  const m = zeros(value.length, c);
  value.forEach((r, i) => {
    if (r.length !== c) throw new InputError(`${field}[${i}]`, `an array of length ${c} (${what})`, describe(r));
    m.data.set(r, i * c);
  });
  return m;
}

/** A number array of a fixed length. */
export function toVec(value: ReadonlyArray<number>, field: string, length: readonly [number, string]): Float64Array {
  if (value.length !== length[0]) throw new InputError(field, `an array of length ${length[0]} (${length[1]})`, describe(value));
  return Float64Array.from(value);
}
