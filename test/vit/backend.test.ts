/**
 * Backend selection: explicit choices, fallbacks with a reason, and the WebGPU path (run when a
 * Vulkan adapter is present, skipped with the reason printed otherwise).
 */
import './quiet-tfjs.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, parseBackend, isSoftwareAdapter, webgpuAdapter, describeBackend } from '../../src/vit/backend.js';
import { initVit, vitForward, disposeVit, crossEntropy, vitVariables, TINY_VIT } from '../../src/vit/model.js';

test('parseBackend accepts the five names and rejects others naming them', () => {
  for (const b of ['auto', 'node-gpu', 'webgpu', 'wasm', 'cpu']) assert.equal(parseBackend(b), b);
  assert.throws(() => parseBackend('cuda'), /auto, node-gpu, webgpu, wasm, cpu/);
});

test('cpu and wasm can be chosen explicitly; wasm agrees with cpu on a ViT forward pass', async () => {
  const cpu = await selectBackend('cpu', { log: () => {} });
  assert.equal(cpu.backend, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  const w = initVit({ ...TINY_VIT, depth: 2 }, 1);
  const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
  const a = tf.tidy(() => Array.from(vitForward(w, x).dataSync()));
  const wasm = await selectBackend('wasm', { log: () => {} });
  assert.equal(wasm.backend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.match(describeBackend(wasm), /^wasm on /);
  const b = tf.tidy(() => Array.from(vitForward(w, x).dataSync()));
  a.forEach((v, i) => assert.ok(Math.abs(v - (b[i] as number)) < 1e-4, `logit ${i}: ${v} vs ${b[i]}`));
  // A gradient step runs on wasm (every kernel the backward pass needs exists there).
  const g = tf.variableGrads(() => crossEntropy(vitForward(w, x), tf.tensor1d([0, 1, 2, 3])), vitVariables(w));
  assert.ok(Object.keys(g.grads).length > 0);
  tf.dispose([g.value, ...Object.values(g.grads), x]);
  disposeVit(w);
});

test('node-gpu falls back with a reason when tfjs-node-gpu is not installed or cannot load', async () => {
  const lines: string[] = [];
  const info = await selectBackend('node-gpu', { log: (m) => lines.push(m) });
  if (info.backend === 'node-gpu') {
    console.log(`# tfjs-node-gpu loaded here: ${info.device}`);
    return;
  }
  assert.match(info.fallbacks[0] ?? '', /^node-gpu: /);
  assert.ok(lines.some((l) => l.includes("'node-gpu' unavailable")), lines.join('\n'));
  assert.ok(['webgpu', 'wasm', 'cpu'].includes(info.backend));
});

test('auto picks a working backend and records what it skipped', async () => {
  const info = await selectBackend('auto', { log: () => {} });
  assert.equal(info.requested, 'auto');
  assert.equal(tf.getBackend(), info.tfBackend);
  assert.ok(info.device.length > 0);
  for (const f of info.fallbacks) assert.match(f, /^(node-gpu|webgpu|wasm): /);
});

test('software adapters are recognised', () => {
  assert.ok(isSoftwareAdapter('mesa llvmpipe (LLVM 19.1.7, 256 bits)'));
  assert.ok(isSoftwareAdapter('Google SwiftShader'));
  assert.ok(!isSoftwareAdapter('nvidia hopper NVIDIA H100 80GB HBM3'));
});

test('WebGPU: a ViT forward pass and a training step match cpu when a Vulkan adapter is available', async (t) => {
  let adapter: string;
  try {
    adapter = await webgpuAdapter();
  } catch (e) {
    const why = `${e instanceof Error ? e.message : String(e)}`;
    console.log(`# skipped: ${why}`);
    t.skip(why);
    return;
  }
  console.log(`# WebGPU adapter: ${adapter}`);
  // cpu first: WebGPU tensors cannot be read back synchronously (no OffscreenCanvas in Node),
  // so nothing may move from webgpu back to cpu.
  await selectBackend('cpu', { log: () => {} });
  const w = initVit({ ...TINY_VIT, depth: 1 }, 1);
  const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
  const y = tf.tensor1d([3, 7]);
  const run = async () => {
    const out = tf.tidy(() => vitForward(w, x));
    const logits = Array.from(await out.data());
    out.dispose();
    const g = tf.variableGrads(() => crossEntropy(vitForward(w, x), y), [w.blocks[0]!.wq]);
    const grad = Array.from(await (g.grads[w.blocks[0]!.wq.name] as tf.Tensor).data());
    tf.dispose([g.value, ...Object.values(g.grads)]);
    return { logits, grad };
  };
  const c = await run();
  const info = await selectBackend('webgpu', { log: () => {} });
  assert.equal(info.backend, 'webgpu');
  const g = await run();
  c.logits.forEach((v, i) => assert.ok(Math.abs(v - (g.logits[i] as number)) < 1e-3, `logit ${i}: ${v} vs ${g.logits[i]}`));
  const scale = Math.max(...c.grad.map(Math.abs));
  c.grad.forEach((v, i) => assert.ok(Math.abs(v - (g.grad[i] as number)) < 1e-3 * scale + 1e-7, `grad ${i}: ${v} vs ${g.grad[i]}`));
  disposeVit(w);
  tf.dispose([x, y]);
});
