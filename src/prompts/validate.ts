/**
 * Boundary validation for the prompt tools (moe-view, params): zod for the types, then shape
 * checks, each failure an InputError naming the field, what was expected and what came:
 *   `prompt.P[2]: expected an array of length 8 (d), got an array of length 7`.
 */
import type { z } from 'zod';
import { type Mat, zeros } from '../linalg/mat.js';
import { InputError, describe } from '../util/errors.js';
import { formatPath } from '../util/schema.js';

function at(value: unknown, path: ReadonlyArray<PropertyKey>): { found: boolean; value: unknown } {
  let v: unknown = value;
  for (const key of path) {
    if (v === null || typeof v !== 'object' || !(key in (v as object))) return { found: false, value: undefined };
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value: v };
}

const TYPE_NAMES: Record<string, string> = {
  number: 'a finite number',
  int: 'an integer',
  array: 'an array',
  object: 'an object',
  boolean: 'a boolean (true or false)',
  string: 'a string',
  null: 'null',
};

type Issue = z.core.$ZodIssue;

function expectation(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      return TYPE_NAMES[issue.expected] ?? issue.expected;
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      if ('options' in issue && Array.isArray((issue as { options?: unknown }).options)) {
        return `one of ${((issue as { options: unknown[] }).options).map((v) => JSON.stringify(v)).join(', ')}`;
      }
      return 'a valid value';
    case 'too_small':
      return issue.origin === 'array' ? `an array of length >= ${String(issue.minimum)}` : `a value >= ${String(issue.minimum)}`;
    case 'too_big':
      return issue.origin === 'array' ? `an array of length <= ${String(issue.maximum)}` : `a value <= ${String(issue.maximum)}`;
    default:
      return issue.message;
  }
}

/** Parse with zod; the first issue becomes `path: expected X, got Y`. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, base = '', hints: Record<string, string> = {}): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0] as Issue;
  const field = formatPath(issue.path, base);
  const found = at(value, issue.path);
  const got = found.found ? describe(found.value) : 'nothing (the field is missing)';
  throw new InputError(field, hints[field] ?? expectation(issue), got);
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
