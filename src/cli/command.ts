/**
 * The shape every subcommand has: a name, a one-line summary for the overview, a full help text,
 * and `run(argv, io)` returning the exit code, writing only through `io` (so a command can be run
 * in-process, e.g. by the CLI fuzz tests). Bad input throws `InputError` (exit 2, one line on
 * stderr); the dispatcher in `main.ts` does that translation for every command.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from '../util/errors.js';
import { readStdin, readTextFile } from '../util/files.js';
import { parseJsonText } from '../util/schema.js';

/** Where a command's output goes: stdout and stderr of the process, or buffers in tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly help: string;
  run(argv: string[], io: Io): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface ParsedFlags {
  values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  positionals: string[];
}

/** `--flag -1`: parseArgs calls a value starting with '-' ambiguous; for a number it is the value. */
function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const next = argv[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d|Infinity|NaN)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** node:util parseArgs with its errors as InputErrors naming the flag and what it takes. */
export function parseFlags(argv: string[], options: Options, command: string): ParsedFlags {
  try {
    return parseArgs({ args: joinNegativeValues(argv, options), options, allowPositionals: true, strict: true }) as ParsedFlags;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] ?? '' : String(e);
    const flag = /'(--?[^' ]+)/.exec(msg)?.[1];
    const known = Object.keys(options).map((k) => `--${k}`).join(', ');
    if (flag !== undefined && /^Unknown option/.test(msg)) throw new InputError(flag, `one of the flags of ${command} (${known}; see --help)`, 'an unknown flag');
    if (flag !== undefined && /does not take an argument/.test(msg)) throw new InputError(flag, 'no value (it is a switch)', 'a value');
    if (flag !== undefined && /argument missing|ambiguous/.test(msg)) throw new InputError(flag, `a value after the flag (e.g. ${flag} 4, or ${flag}=VALUE for a value starting with -)`, 'none');
    throw new InputError(`${command} arguments`, `flags listed by \`prompt-experts ${command} --help\``, msg);
  }
}

/** Read a JSON document from a path or `-` (stdin), at most the input size limit (util/files.ts). */
export function readJsonInput(source: string): unknown {
  const text = source === '-' ? readStdin() : readTextFile(source, 'a readable JSON file');
  return parseJsonText(text, source === '-' ? 'stdin' : source);
}

/** Parse an integer flag value in [min, max]. */
export function intFlag(value: string | undefined, name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (!Number.isInteger(v) || v < min || v > max) throw new InputError(`--${name}`, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`, JSON.stringify(value));
  return v;
}
