/**
 * Validation at the boundary: parse external input (JSON configs, CLI payloads) with a zod
 * schema and turn the first issue into an `InputError` naming the field, e.g.
 * `prompt.P[1][3]: expected a finite number, got NaN`.
 */
import { z } from 'zod';
import { InputError } from './errors.js';

/** Path of a zod issue as `a.b[2][0]`; the empty path is named `root` (or `base`). */
export function formatPath(path: ReadonlyArray<PropertyKey>, base = ''): string {
  let out = base;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? 'root' : out;
}

/** Parse `value` with `schema`; throw an `InputError` for the first problem found. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown, base = ''): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new InputError(base || 'root', 'a valid value');
  throw new InputError(formatPath(issue.path, base), issue.message);
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
