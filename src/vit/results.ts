/**
 * The ViT studies' results files: one JSON object per line, appended as each cell finishes, so a
 * killed run loses at most the cell in progress. A last line cut short by a kill is ignored (and
 * cut off before the next append); `run.json` beside it records every session (start, end,
 * backend, device, versions, cells run and skipped).
 */
import { appendFileSync, closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { InputError, describe } from '../util/errors.js';
import { readTextFile } from '../util/files.js';
import { versions } from '../study/runner.js';

/**
 * Parse a results.jsonl file; a torn last line is dropped (and truncated away with `repair`), any
 * other line that is not a JSON object is an InputError naming `file:line`.
 */
export function readJsonl<T>(path: string, repair = false): T[] {
  if (!existsSync(path)) return [];
  const text = readTextFile(path, 'a results file (one JSON object per line)');
  const out: T[] = [];
  let valid = 0;
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (valid < 0) return;
    const last = i === lines.length - 1;
    if (line.trim() === '') {
      if (!last) valid += Buffer.byteLength(line) + 1;
      return;
    }
    let parsed: unknown;
    try {
      parsed = last && !text.endsWith('\n') ? undefined : (JSON.parse(line) as unknown);
    } catch {
      parsed = undefined;
    }
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      out.push(parsed as T);
      valid += Buffer.byteLength(line) + 1;
    } else {
      if (!last) throw new InputError(`${path}:${i + 1}`, 'one JSON object per line (only the last line may be cut short)', describe(line));
      valid = -valid - 1; // stop; remember where the good part ends
    }
  });
  const goodBytes = valid < 0 ? -valid - 1 : valid;
  if (repair && goodBytes < Buffer.byteLength(text)) {
    const fd = openSync(path, 'r+');
    ftruncateSync(fd, goodBytes);
    closeSync(fd);
  }
  return out;
}

export function appendJsonl(path: string, value: unknown): void {
  appendFileSync(path, `${JSON.stringify(value)}\n`);
}

export interface Session {
  command: string;
  start: string;
  end: string | null;
  backend: string;
  device: string;
  host: string;
  versions: Record<string, string>;
  cells: { total: number; skipped: number; ran: number };
  seconds: number | null;
  [key: string]: unknown;
}

/** Append (or, with the same start, update) a session in `run.json`, keeping the study config beside. */
export function recordSession(path: string, study: unknown, session: Session): void {
  let record: { study: unknown; sessions: Session[] } = { study, sessions: [] };
  if (existsSync(path)) {
    try {
      record = JSON.parse(readFileSync(path, 'utf8')) as typeof record;
    } catch {
      /* start a fresh record */
    }
  }
  record.study = study;
  record.sessions = record.sessions.filter((s) => s.start !== session.start);
  record.sessions.push(session);
  writeFileSync(path, `${JSON.stringify(record, null, 1)}\n`);
}

export function newSession(command: string, backend: string, device: string): Session {
  return { command, start: new Date().toISOString(), end: null, backend, device, host: hostname(), versions: versions(), cells: { total: 0, skipped: 0, ran: 0 }, seconds: null };
}
