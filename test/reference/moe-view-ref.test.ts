/**
 * moe-view against an independent numpy implementation (test/reference/moe_view_ref.py) on
 * random documents of every prompt kind of the contract: agreement to 1e-8 (relative to the
 * size of the numbers compared). Skipped, with the reason, if python3 with numpy is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { moeViewInputArb } from '../../src/arbitraries/index.js';
import { runMoeView } from '../../src/prompts/contract.js';

const script = fileURLToPath(new URL('../../../test/reference/moe_view_ref.py', import.meta.url));
const probe = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
const skip = probe.error !== undefined ? `python3 not found (${probe.error.message})` : probe.status !== 0 ? 'python3 has no numpy' : false;

function maxAbs(a: unknown): number {
  return Array.isArray(a) ? Math.max(0, ...a.map(maxAbs)) : Math.abs(a as number);
}
function maxDiff(a: unknown, b: unknown, path: string): number {
  if (Array.isArray(a)) {
    assert.ok(Array.isArray(b) && b.length === a.length, `${path}: shapes differ`);
    return Math.max(0, ...a.map((x, i) => maxDiff(x, (b as unknown[])[i], `${path}[${i}]`)));
  }
  return Math.abs((a as number) - (b as number));
}

for (const kind of ['none', 'vpt', 'kv', 'vapt'] as const) {
  test(`moe-view agrees with the numpy reference to 1e-8 (${kind})`, { skip }, () => {
    const docs = fc.sample(moeViewInputArb(kind, { maxTokens: 9, maxWidth: 7 }), { numRuns: 40, seed: 314 });
    const res = spawnSync('python3', [script], { input: JSON.stringify(docs), encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(res.status, 0, res.stderr);
    const refs = JSON.parse(res.stdout) as Array<Record<string, unknown>>;
    docs.forEach((doc, i) => {
      const ours = runMoeView(doc) as unknown as Record<string, unknown>;
      const ref = refs[i] as Record<string, unknown>;
      for (const key of ['gates', 'scores', 'expertOutputs', 'output', 'attention']) {
        const scale = Math.max(1, maxAbs(ref[key]));
        const diff = maxDiff(ours[key], ref[key], key);
        assert.ok(diff <= 1e-8 * scale, `doc ${i} ${key}: ${diff} (scale ${scale})`);
      }
    });
  });
}
