/**
 * One writer per output file: `acquireLock(file)` creates `file.lock` with O_EXCL (so of two
 * processes racing for it exactly one wins) holding the writer's pid, host and start time. A
 * second writer gets an `InputError` naming the holder (exit 2). A lock whose pid no longer runs
 * on this host (the writer was killed) is stale: it is taken over, so a killed run resumes
 * without a manual step. A lock from another host is never broken automatically (that process
 * cannot be checked from here); its message says which file to delete once that run is gone.
 * Signals keep their default action (an in-thread run could not react to a handler until it
 * ends), so SIGINT, SIGTERM and SIGKILL all leave a stale lock that the next run takes over.
 */
import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { InputError } from './errors.js';

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
  readonly command: string;
}

export interface Lock {
  readonly path: string;
  /** Remove the lock file (idempotent). Also runs on process exit. */
  release(): void;
}

/** The lock file guarding `target`. */
export const lockPath = (target: string): string => `${target}.lock`;

function readHolder(path: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    if (typeof h.pid === 'number' && typeof h.host === 'string') return { pid: h.pid, host: h.host, since: String(h.since ?? '?'), command: String(h.command ?? '?') };
  } catch {
    /* unreadable or torn: treated as held (its writer may be writing it right now) */
  }
  return undefined;
}

/** Does `pid` run on this machine? (EPERM: it runs, under another user.) */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const isStale = (h: LockHolder): boolean => h.host === hostname() && !pidAlive(h.pid);

function tryCreate(path: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new InputError(path, 'a lock file that can be created beside the output', (e as NodeJS.ErrnoException).code ?? 'an error');
  }
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Take the lock on `target` or throw an InputError naming the holder. A stale lock is moved
 * aside with an atomic rename (so two processes that both found it stale cannot both take it)
 * and the creation retried once.
 */
export function acquireLock(target: string, command = process.argv.slice(1).join(' ')): Lock {
  const path = lockPath(target);
  const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), command };
  for (let attempt = 0; attempt < 2; attempt++) {
    if (tryCreate(path, me)) return register(path);
    const holder = readHolder(path);
    if (holder === undefined || !isStale(holder) || attempt > 0) {
      const who = holder === undefined ? 'another process (its lock file is unreadable)' : `pid ${holder.pid} on ${holder.host} since ${holder.since} (${holder.command})`;
      throw new InputError(target, 'no other writer of this file', `it is being written by ${who}; wait for that run to end, or delete ${path} if it is gone`);
    }
    const aside = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, aside);
    } catch {
      continue; // another process moved it first: retry the creation
    }
    const moved = readHolder(aside);
    if (moved?.pid !== holder.pid || moved.since !== holder.since) {
      // Not the stale lock we saw (a live writer took over in between): put it back, report it held.
      renameSync(aside, path);
      continue;
    }
    unlinkSync(aside);
  }
  throw new InputError(target, 'no other writer of this file', `its lock ${path} is held`);
}

function register(path: string): Lock {
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.removeListener('exit', release);
    try {
      unlinkSync(path);
    } catch {
      /* already gone */
    }
  };
  process.on('exit', release);
  return { path, release };
}
