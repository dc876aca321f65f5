/**
 * Reading and writing the files a user names, with the mistakes reported as `InputError`s
 * (exit 2) instead of Node's EISDIR / ENOENT / out-of-memory: a directory where a file is
 * expected, a file that is not a regular file (a device such as /dev/zero, a FIFO), and a file
 * larger than the input size limit are refused before any of it is parsed. Reads are capped, so
 * even a stream that never ends (stdin) stops at the limit.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from './errors.js';

/** Default cap on one input file: 512 MiB (env PROMPT_EXPERTS_MAX_INPUT_MB overrides it). */
export const DEFAULT_MAX_INPUT_MB = 512;

/** The input size limit in bytes (PROMPT_EXPERTS_MAX_INPUT_MB, a positive number of MiB, or the default). */
export function maxInputBytes(): number {
  const env = process.env.PROMPT_EXPERTS_MAX_INPUT_MB;
  if (env === undefined || env === '') return DEFAULT_MAX_INPUT_MB * 2 ** 20;
  const mb = Number(env);
  if (!(Number.isFinite(mb) && mb > 0)) throw new InputError('PROMPT_EXPERTS_MAX_INPUT_MB', 'a positive number of MiB', JSON.stringify(env));
  return Math.floor(mb * 2 ** 20);
}

function tooLarge(name: string, limit: number): InputError {
  return new InputError(name, `a file of at most ${(limit / 2 ** 20).toFixed(0)} MiB (raise PROMPT_EXPERTS_MAX_INPUT_MB to read larger ones)`, 'a larger input');
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Read at most `limit` bytes from an open descriptor; more is an error (so an endless stream stops). */
function readCapped(fd: number, name: string, limit: number): string {
  const chunks: Buffer[] = [];
  let total = 0;
  const chunk = Buffer.alloc(1 << 16);
  for (;;) {
    let got: number;
    try {
      got = readSync(fd, chunk, 0, chunk.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 10); // a non-blocking pipe with nothing yet: wait 10 ms, not spin
        continue;
      }
      throw new InputError(name, 'a readable file', (e as NodeJS.ErrnoException).code ?? 'a read error');
    }
    if (got === 0) break;
    total += got;
    if (total > limit) throw tooLarge(name, limit);
    chunks.push(Buffer.from(chunk.subarray(0, got)));
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

/**
 * The text of `path`, which must be a regular file of at most the input limit. `what` says what
 * the file should be (`a results file`) for the message when it is missing or a directory.
 */
export function readTextFile(path: string, what = 'a readable file', limit = maxInputBytes()): string {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new InputError(path, what, 'no such file');
  }
  if (st.isDirectory()) throw new InputError(path, what, 'a directory');
  if (!st.isFile()) throw new InputError(path, `${what} (a regular file)`, 'a device, pipe or socket');
  if (st.size > limit) throw tooLarge(path, limit);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new InputError(path, what, (e as NodeJS.ErrnoException).code ?? 'unreadable');
  }
  try {
    return readCapped(fd, path, limit);
  } finally {
    closeSync(fd);
  }
}

/** All of stdin, capped at the input limit. */
export function readStdin(limit = maxInputBytes()): string {
  return readCapped(0, 'stdin', limit);
}

/** `path` is either absent or a regular file (so it can be created or appended to). */
export function checkOutputFile(path: string): void {
  if (!existsSync(path)) {
    const dir = dirname(path);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(dir, 'an existing folder for the output files', 'no such folder');
    return;
  }
  const st = statSync(path);
  if (st.isDirectory()) throw new InputError(path, 'a file or nothing (it is created)', 'a directory');
  if (!st.isFile()) throw new InputError(path, 'a regular file or nothing', 'a device, pipe or socket');
}
