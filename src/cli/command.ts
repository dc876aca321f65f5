/**
 * The shape every subcommand has: a name, a one-line summary for the overview, a full help text,
 * and `run(argv)` returning the exit code. Bad input throws `InputError` (exit 2, one line on
 * stderr); the dispatcher in `main.ts` does that translation for every command.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from '../util/errors.js';
import { parseJsonText } from '../util/schema.js';

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly help: string;
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface ParsedFlags {
  values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  positionals: string[];
}

/** node:util parseArgs with unknown flags reported as InputError (named, with the fix). */
export function parseFlags(argv: string[], options: Options, command: string): ParsedFlags {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as ParsedFlags;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new InputError(`${command} arguments`, `flags listed by \`prompt-experts ${command} --help\``, msg);
  }
}

/** Read a JSON document from a path or `-` (stdin). */
export function readJsonInput(source: string): unknown {
  let text: string;
  try {
    text = source === '-' ? readFileSync(0, 'utf8') : readFileSync(source, 'utf8');
  } catch {
    throw new InputError(source === '-' ? 'stdin' : source, 'a readable file');
  }
  return parseJsonText(text, source === '-' ? 'stdin' : source);
}

/** Parse a positive integer flag value. */
export function intFlag(value: string | undefined, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (!Number.isInteger(v) || v < min) throw new InputError(`--${name}`, `an integer >= ${min}`, JSON.stringify(value));
  return v;
}
