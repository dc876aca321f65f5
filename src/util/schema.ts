/**
 * Validation at the boundary: parse external input (JSON configs, CLI payloads) with a zod
 * schema and turn the first issue into an `InputError` naming the field, e.g.
 * `prompt.P[1][3]: expected a finite number, got NaN`.
 */
import { z } from 'zod';
import { InputError, describe } from './errors.js';

/** Path of a zod issue as `a.b[2][0]`; the empty path is named `root` (or `base`). */
export function formatPath(path: ReadonlyArray<PropertyKey>, base = ''): string {
  let out = base;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? 'root' : out;
}

/** The value at a zod issue's path in the parsed input, if there is one. */
export function valueAt(value: unknown, path: ReadonlyArray<PropertyKey>): { found: boolean; value: unknown } {
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

/** What a zod issue expected, in words (zod's own messages read "expected Invalid input: ..."). */
export function expectation(issue: Issue): string {
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
    case 'unrecognized_keys':
      return `no field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (a typo, or a field of another kind?)`;
    default:
      return issue.message;
  }
}

/** zod's default messages, which a schema's own `{ error }` replaces. */
const ZOD_DEFAULT = /^(Invalid input|Invalid option|Invalid discriminator|Too small|Too big|Unrecognized key)/;

/**
 * One zod issue as an `InputError`: `field: expected X, got Y`. `prefer` picks the schema's own
 * message (`an integer >= 1`) over the generic one; an unknown key is named as its own field.
 */
export function issueError(issue: Issue, value: unknown, base = '', prefer: 'schema' | 'generic' = 'schema', hints: Record<string, string> = {}): InputError {
  const unknownKey = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
  const path = unknownKey === undefined ? issue.path : [...issue.path, unknownKey];
  const field = formatPath(path, base);
  const own = prefer === 'schema' && !ZOD_DEFAULT.test(issue.message) ? issue.message : undefined;
  const found = valueAt(value, issue.path);
  const got = unknownKey !== undefined ? 'an unknown field' : found.found ? describe(found.value) : 'nothing (the field is missing)';
  return new InputError(field, hints[field] ?? own ?? expectation(issue), got);
}

/** Parse `value` with `schema`; throw an `InputError` for the first problem found. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown, base = ''): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new InputError(base || 'root', 'a valid value');
  throw issueError(issue, value, base);
}

/** A finite float64 (rejects NaN and +-Infinity, which JSON can carry as null or huge literals). */
export const finite = z.number({ error: 'a finite number' }).refine(Number.isFinite, { error: 'a finite number' });

/** Parse JSON text, reporting a syntax error as an `InputError` on `source`. */
export function parseJsonText(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new InputError(source, 'valid JSON', `a syntax error (${msg})`);
  }
}
