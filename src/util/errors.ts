/**
 * Errors that reach a user. An `InputError` names the offending field and what was expected;
 * the CLI prints its message as one line on stderr and exits with code 2 (never a stack trace).
 */
export class InputError extends Error {
  readonly field: string;
  readonly expected: string;

  /** `field` is a path such as `prompt.P[2][0]`; `expected` says what would have been valid. */
  constructor(field: string, expected: string, got?: string) {
    super(`${field}: expected ${expected}${got === undefined ? '' : `, got ${got}`}`);
    this.name = 'InputError';
    this.field = field;
    this.expected = expected;
  }
}

/** Short, single-line description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'object') return 'an object';
  return typeof value;
}
