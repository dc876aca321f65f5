/**
 * One writer per results file: the lock in-process, a stale lock left by a killed writer, two
 * concurrent `simulate` processes on one study, and a SIGKILLed run resumed to the same lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../src/util/errors.js';
import { acquireLock, lockPath } from '../../src/util/lock.js';
import { parseStudy } from '../../src/study/schema.js';
import { cellKey, readResults, runStudy } from '../../src/study/runner.js';
import type { ResultLine } from '../../src/study/cell.js';

const BIN = fileURLToPath(new URL('../../../bin/prompt-experts.js', import.meta.url));
const tmp = (): string => mkdtempSync(join(tmpdir(), 'pe-lock-'));

/** A pid that ran on this host and has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  assert.ok(r.pid !== undefined);
  return r.pid;
}

test('a second writer is refused with the holder named; the lock is free again after release', () => {
  const target = join(tmp(), 'results.jsonl');
  const lock = acquireLock(target, 'test');
  assert.throws(() => acquireLock(target), (e: unknown) => e instanceof InputError && e.field === target && new RegExp(`pid ${process.pid} on ${hostname()}`).test(e.message));
  lock.release();
  assert.equal(existsSync(lockPath(target)), false);
  acquireLock(target).release();
});

test('a lock left by a dead process on this host is taken over; one from another host is not', () => {
  const target = join(tmp(), 'results.jsonl');
  writeFileSync(lockPath(target), JSON.stringify({ pid: deadPid(), host: hostname(), since: '2020-01-01T00:00:00Z', command: 'killed' }));
  const lock = acquireLock(target);
  assert.equal((JSON.parse(readFileSync(lockPath(target), 'utf8')) as { pid: number }).pid, process.pid);
  lock.release();
  writeFileSync(lockPath(target), JSON.stringify({ pid: deadPid(), host: 'elsewhere', since: '2020-01-01T00:00:00Z', command: 'remote' }));
  assert.throws(() => acquireLock(target), (e: unknown) => e instanceof InputError && /on elsewhere/.test(e.message) && e.message.includes(lockPath(target)));
});

const studyJson = {
  name: 'lock',
  seed: 5,
  n: [5000, 10000],
  replications: 40,
  model: { kind: 'mean', dim: 2 },
  loss: 'l2',
  variants: [{ name: 'a' }, { name: 'b', model: { sigma: 2 } }],
};
const GRID = 2 * 2 * 40;

function studyDir(): { dir: string; path: string } {
  const dir = tmp();
  const path = join(dir, 'study.json');
  writeFileSync(path, JSON.stringify(studyJson));
  return { dir, path };
}

function simulate(path: string): { child: ReturnType<typeof spawn>; done: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [BIN, 'simulate', path, '--workers', '0', '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  return { child, done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr }))) };
}

const strip = (l: ResultLine): string => {
  const { seconds: _s, cellSeconds: _c, ...rest } = l;
  return JSON.stringify(rest);
};

test('two concurrent simulate runs on one study never write a cell twice', async () => {
  const { dir, path } = studyDir();
  const runs = await Promise.all([simulate(path).done, simulate(path).done]);
  for (const r of runs) {
    assert.ok(r.code === 0 || r.code === 2, r.stderr);
    if (r.code === 2) assert.match(r.stderr, /^prompt-experts simulate: .*results\.jsonl: expected no other writer of this file, got it is being written by pid \d+/);
  }
  const lines = readResults(join(dir, 'results.jsonl'));
  assert.equal(new Set(lines.map(cellKey)).size, lines.length, 'no duplicated cell');
  assert.equal(lines.length, GRID);
  assert.equal(existsSync(lockPath(join(dir, 'results.jsonl'))), false, 'the lock is gone after both ended');
});

/** Wait until the results file holds more than `k` lines (the run is under way). */
async function waitForLines(results: string, k: number): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < 20_000 && !(existsSync(results) && readFileSync(results, 'utf8').split('\n').length > k)) await new Promise((r) => setTimeout(r, 5));
}

test('a SIGKILLed simulate leaves a stale lock; the rerun takes it over and matches an uninterrupted run', async () => {
  const { dir, path } = studyDir();
  const results = join(dir, 'results.jsonl');
  const { child, done } = simulate(path);
  await waitForLines(results, 3);
  child.kill('SIGKILL');
  const r = await done;
  assert.equal(r.code, null, 'killed, not finished');
  assert.ok(existsSync(lockPath(results)), 'a killed writer leaves its lock behind');
  const study = parseStudy(studyJson);
  const resumed = await runStudy(study, dir, { workers: 0, quiet: true });
  assert.ok(resumed.skipped > 0 && resumed.skipped < GRID, `resumed after ${resumed.skipped} cells`);
  const fresh = tmp();
  await runStudy(study, fresh, { workers: 0, quiet: true });
  const a = readResults(results).map(strip).sort();
  const b = readResults(join(fresh, 'results.jsonl')).map(strip).sort();
  assert.equal(a.length, GRID);
  assert.deepEqual(a, b);
});
