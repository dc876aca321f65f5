/**
 * Checkpoints in the tfjs weights format: a folder with `model.json` holding a tfjs
 * `weightsManifest` (one group, `weights.bin`, entries from `tf.io.encodeWeights`) plus our own
 * `meta` object (step, config, anything JSON), and the binary `weights.bin`. Readable by
 * `tf.io.decodeWeights` and by any tool that reads tfjs weight manifests. Writes go to temporary
 * files renamed into place, so a run killed mid-write leaves the previous checkpoint intact.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

export interface Checkpoint<M> {
  readonly tensors: tf.NamedTensorMap;
  readonly meta: M;
}

interface ModelJson<M> {
  format: 'prompt-experts-checkpoint';
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  meta: M;
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'model.json')) && existsSync(join(dir, 'weights.bin'));
}

export async function saveCheckpoint<M>(dir: string, tensors: tf.NamedTensorMap, meta: M): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const { data, specs } = await tf.io.encodeWeights(tensors);
  const json: ModelJson<M> = { format: 'prompt-experts-checkpoint', weightsManifest: [{ paths: ['weights.bin'], weights: specs }], meta };
  writeFileSync(join(dir, 'weights.bin.tmp'), Buffer.from(data));
  writeFileSync(join(dir, 'model.json.tmp'), `${JSON.stringify(json, null, 1)}\n`);
  renameSync(join(dir, 'weights.bin.tmp'), join(dir, 'weights.bin'));
  renameSync(join(dir, 'model.json.tmp'), join(dir, 'model.json'));
}

/** Load a checkpoint; the caller owns (and disposes) the returned tensors. */
export function loadCheckpoint<M>(dir: string): Checkpoint<M> {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as ModelJson<M>;
  if (json.format !== 'prompt-experts-checkpoint' || json.weightsManifest.length !== 1) {
    throw new Error(`${dir}/model.json: not a prompt-experts checkpoint`);
  }
  const buf = readFileSync(join(dir, 'weights.bin'));
  const data = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const group = json.weightsManifest[0] as { weights: tf.io.WeightsManifestEntry[] };
  return { tensors: tf.io.decodeWeights(data, group.weights), meta: json.meta };
}

/** Assign saved values to variables by name (shapes must match); returns the names assigned. */
export function assignVariables(vars: ReadonlyArray<tf.Variable>, tensors: tf.NamedTensorMap, names?: ReadonlyArray<string>): string[] {
  const done: string[] = [];
  vars.forEach((v, i) => {
    const key = names?.[i] ?? v.name;
    const t = tensors[key];
    if (t === undefined) return;
    if (t.shape.join(',') !== v.shape.join(',')) throw new Error(`checkpoint ${key}: shape [${t.shape.join(', ')}], variable has [${v.shape.join(', ')}]`);
    v.assign(t);
    done.push(key);
  });
  return done;
}
