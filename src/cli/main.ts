/**
 * `prompt-experts <command> [...]`: dispatch to a subcommand. Every error a user can cause comes
 * out as one line on stderr with exit code 2; anything else is a bug and is reported as such.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../util/errors.js';
import { commands } from './commands.js';

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

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${overview()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    process.stderr.write(`prompt-experts: unknown command ${JSON.stringify(name)}: expected one of ${commands.map((c) => c.name).join(', ')} (see --help)\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.help.trimEnd()}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof InputError) {
      process.stderr.write(`prompt-experts ${name}: ${e.message}\n`);
      return 2;
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`prompt-experts ${name}: internal error: ${msg.split('\n')[0]} (please report it; set PROMPT_EXPERTS_DEBUG=1 for the trace)\n`);
    if (process.env.PROMPT_EXPERTS_DEBUG === '1' && e instanceof Error) process.stderr.write(`${e.stack ?? ''}\n`);
    return 1;
  }
}
