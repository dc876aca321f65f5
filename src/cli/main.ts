/**
 * `prompt-experts <command> [...]`: dispatch to a subcommand. Every error a user can cause comes
 * out as one line on stderr with exit code 2; anything else is a bug and is reported as such.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../util/errors.js';
import { commands } from './commands.js';
import { type Io, processIo } from './command.js';

/** The package version: from package.json beside dist/ or, in a bundle, beside the bundle. */
export function version(): string {
  for (const rel of ['../../../package.json', './package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 8);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'prompt-experts: visual prompt tuning seen as mixtures of experts.',
    '',
    'Usage: prompt-experts <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `prompt-experts <command> --help` for a command\'s options and formats.',
    'Errors in input exit with code 2 and one line on stderr naming the field.',
  ].join('\n');
}

/** Run the CLI on `argv`, writing through `io` (default: the process's stdout and stderr); returns the exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(`${overview()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    io.out(`${version()}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    io.err(`prompt-experts: unknown command ${JSON.stringify(name)}: expected one of ${commands.map((c) => c.name).join(', ')} (see --help)\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`${command.help.trimEnd()}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof InputError) {
      io.err(`prompt-experts ${name}: ${e.message}\n`);
      return 2;
    }
    const msg = e instanceof Error ? e.message : String(e);
    io.err(`prompt-experts ${name}: internal error: ${msg.split('\n')[0]} (please report it; set PROMPT_EXPERTS_DEBUG=1 for the trace)\n`);
    if (process.env.PROMPT_EXPERTS_DEBUG === '1' && e instanceof Error) io.err(`${e.stack ?? ''}\n`);
    return 1;
  }
}

/** Run the CLI in-process and collect what it printed: `{ code, stdout, stderr }`. */
export async function invoke(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
  return { code, stdout, stderr };
}
