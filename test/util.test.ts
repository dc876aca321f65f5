import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRng, deriveSeed } from '../src/util/rng.js';
import { parseWith, finite } from '../src/util/schema.js';
import { z } from 'zod';
import { InputError } from '../src/util/errors.js';

test('rng is reproducible from its seed and streams differ by seed', () => {
  const a = makeRng(7);
  const b = makeRng(7);
  const c = makeRng(8);
  const xs = [a.uniform(), a.normal(), a.int(10)];
  assert.deepEqual([b.uniform(), b.normal(), b.int(10)], xs);
  assert.notEqual(c.uniform(), xs[0]);
});

test('deriveSeed is stable and separates cells', () => {
  assert.equal(deriveSeed(1, 'vapt exact', 100, 0), deriveSeed(1, 'vapt exact', 100, 0));
  assert.notEqual(deriveSeed(1, 'vapt exact', 100, 0), deriveSeed(1, 'vapt exact', 100, 1));
});

test('parseWith names the field of the first problem', () => {
  const schema = z.object({ X: z.array(z.array(finite)) });
  assert.throws(() => parseWith(schema, { X: [[1, 2], [3, Number.NaN]] }), (e: unknown) => e instanceof InputError && e.message.startsWith('X[1][1]: expected a finite number'));
});
