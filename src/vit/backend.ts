/**
 * Choose the tfjs backend at run time.
 *
 *   node-gpu  @tensorflow/tfjs-node-gpu (optional dependency; loads only where its libtensorflow
 *             and CUDA are present)
 *   webgpu    @tensorflow/tfjs-backend-webgpu on Dawn from the `webgpu` package
 *             (needs libvulkan.so.1 and a Vulkan driver: NVIDIA's, or Mesa's lavapipe in software)
 *   wasm      @tensorflow/tfjs-backend-wasm (SIMD, one thread): the fast CPU path here
 *   cpu       tfjs' plain JavaScript backend
 *
 * 'auto' tries node-gpu, then webgpu on a hardware adapter (a software adapter such as lavapipe
 * is slower than wasm, so 'auto' skips it; ask for 'webgpu' to use it anyway), then wasm, then
 * cpu. A requested backend that fails falls back down the same list, and every failure is
 * reported in `fallbacks` (and through `log`). Modules load by dynamic import: no top-level
 * await, and importing this file registers nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as os from 'node:os';
import { useExplicitTransposeMatMulGradient } from './fast-matmul.js';

export type BackendRequest = 'auto' | 'node-gpu' | 'webgpu' | 'wasm' | 'cpu';
export const BACKEND_REQUESTS: readonly BackendRequest[] = ['auto', 'node-gpu', 'webgpu', 'wasm', 'cpu'];

export interface BackendInfo {
  /** What was asked for. */
  readonly requested: BackendRequest;
  /** The backend in use: 'node-gpu' | 'webgpu' | 'wasm' | 'cpu'. */
  readonly backend: Exclude<BackendRequest, 'auto'>;
  /** tfjs' own name of the backend ('tensorflow', 'webgpu', 'wasm', 'cpu'). */
  readonly tfBackend: string;
  /** The device in words (GPU adapter, or CPU model and what the backend uses of it). */
  readonly device: string;
  /** One line per backend tried before the one in use, saying why it was not used. */
  readonly fallbacks: readonly string[];
}

export interface SelectOptions {
  /** Where messages go (default: console.error). Pass () => {} to silence. */
  readonly log?: (message: string) => void;
  /** 'auto' accepts a software WebGPU adapter too (default false). */
  readonly allowSoftwareWebgpu?: boolean;
}

/** Parse a `--backend` value; throws naming the allowed values. */
export function parseBackend(value: string): BackendRequest {
  if ((BACKEND_REQUESTS as readonly string[]).includes(value)) return value as BackendRequest;
  throw new RangeError(`--backend must be one of ${BACKEND_REQUESTS.join(', ')}, got '${value}'`);
}

function cpuName(): string {
  try {
    const cpus = os.cpus();
    return `${cpus[0]?.model.trim() ?? 'unknown CPU'} (${cpus.length} cores)`;
  } catch {
    return 'CPU';
  }
}

function message(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0] ?? m;
}

/** Directory of tfjs-backend-wasm's .wasm files (env TFJS_WASM_DIR overrides, e.g. in a bundle). */
export function wasmDirectory(): string {
  const env = process.env['TFJS_WASM_DIR'];
  if (env) return env.endsWith('/') ? env : env + '/';
  const req = createRequire(import.meta.url);
  const pkg = req.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  return join(dirname(pkg), 'dist') + '/';
}

async function tryNodeGpu(): Promise<string> {
  const name = '@tensorflow/tfjs-node-gpu';
  try {
    await import(name);
  } catch (e) {
    // npm ci skips its install script (package.json allowScripts): without it there is no libtensorflow.
    throw new Error(`${name} did not load (${message(e).split('\n')[0] ?? ''}); on a CUDA server run \`npm rebuild ${name} --dangerously-allow-all-scripts\` to fetch its libtensorflow (README: ViT experiments on a GPU)`, { cause: e });
  }
  if (!(await tf.setBackend('tensorflow'))) throw new Error('tfjs-node-gpu loaded but the tensorflow backend did not initialise');
  return 'TensorFlow C library (CUDA)';
}

/** Is a WebGPU adapter software (lavapipe, llvmpipe, SwiftShader)? */
export function isSoftwareAdapter(description: string): boolean {
  return /llvmpipe|lavapipe|swiftshader|software|\bcpu\b/i.test(description);
}

interface AdapterLike {
  readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}

/**
 * Is the Vulkan loader (libvulkan.so.1) where the dynamic linker looks? Dawn runs WebGPU on
 * Vulkan on Linux; without the loader it prints a multi-line "Couldn't load Vulkan" warning that
 * reads like a failure, so the adapter search stops here with a plain reason instead.
 */
export function vulkanLoaderPresent(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d !== ''), '/lib', '/usr/lib', '/lib64', '/usr/lib64', '/usr/local/lib', `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`];
  if (dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')))) return true;
  try {
    return readFileSync('/etc/ld.so.cache').includes('libvulkan.so.1');
  } catch {
    return false;
  }
}

/** Install Dawn's navigator.gpu (once) and describe the adapter; throws if there is none. */
export async function webgpuAdapter(): Promise<string> {
  const g = globalThis as unknown as { navigator?: { gpu?: { requestAdapter(): Promise<AdapterLike | null> } } };
  if (!g.navigator?.gpu && !vulkanLoaderPresent()) throw new Error('no WebGPU adapter (the Vulkan loader libvulkan.so.1 that Dawn needs is not installed)');
  if (!g.navigator?.gpu) {
    const webgpu = (await import('webgpu')) as unknown as { create(o: string[]): unknown; globals: object };
    Object.assign(globalThis, webgpu.globals);
    const gpu = webgpu.create([]);
    // Node 21+ defines a read-only global navigator; define the property instead of assigning.
    Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu }, configurable: true, writable: true });
  }
  const adapter = await (g.navigator as { gpu: { requestAdapter(): Promise<AdapterLike | null> } }).gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter (Dawn found no Vulkan driver: needs libvulkan.so.1 and an ICD)');
  const i = adapter.info ?? {};
  const parts = [i.vendor, i.architecture, i.device, i.description].filter((s): s is string => typeof s === 'string' && s.length > 0);
  return parts.length > 0 ? parts.join(' ') : 'WebGPU adapter';
}

async function tryWebgpu(allowSoftware: boolean): Promise<string> {
  const desc = await webgpuAdapter();
  if (!allowSoftware && isSoftwareAdapter(desc)) throw new Error(`adapter '${desc}' is software (slower than wasm); ask for --backend webgpu to use it`);
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs-backend-webgpu did not initialise');
  return desc;
}

async function tryWasm(): Promise<string> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(wasmDirectory());
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs-backend-wasm did not initialise');
  // wasm's matMul with a transpose flag is ~7x slower than an explicit transpose + plain matMul.
  useExplicitTransposeMatMulGradient();
  return `${cpuName()}, wasm SIMD, 1 thread`;
}

async function tryCpu(): Promise<string> {
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
  return `${cpuName()}, plain JavaScript`;
}

const ORDER: ReadonlyArray<Exclude<BackendRequest, 'auto'>> = ['node-gpu', 'webgpu', 'wasm', 'cpu'];

/**
 * Make `requested` (or the best available) the active tfjs backend. Never throws for an
 * unavailable backend: it falls back and says so. Resolves with what is in use.
 */
export async function selectBackend(requested: BackendRequest = 'auto', options: SelectOptions = {}): Promise<BackendInfo> {
  const log = options.log ?? ((m: string) => console.error(m));
  const start = requested === 'auto' ? 0 : ORDER.indexOf(requested);
  if (start < 0) throw new RangeError(`backend must be one of ${BACKEND_REQUESTS.join(', ')}, got '${String(requested)}'`);
  const fallbacks: string[] = [];
  for (let i = start; i < ORDER.length; i++) {
    const b = ORDER[i] as Exclude<BackendRequest, 'auto'>;
    try {
      const device =
        b === 'node-gpu'
          ? await tryNodeGpu()
          : b === 'webgpu'
            ? await tryWebgpu(requested === 'webgpu' || options.allowSoftwareWebgpu === true)
            : b === 'wasm'
              ? await tryWasm()
              : await tryCpu();
      await tf.ready();
      const info: BackendInfo = { requested, backend: b, tfBackend: tf.getBackend(), device, fallbacks };
      if (requested !== 'auto' && b !== requested) log(`backend: '${requested}' unavailable, using '${b}' (${device})`);
      return info;
    } catch (e) {
      const why = `${b}: ${message(e)}`;
      fallbacks.push(why);
      if (requested !== 'auto') log(`backend ${why}`);
    }
  }
  throw new Error(`no tfjs backend could be initialised:\n  ${fallbacks.join('\n  ')}`);
}

/** One line for logs and result records: "wasm on <device>". */
export function describeBackend(info: BackendInfo): string {
  return `${info.backend} on ${info.device}`;
}
