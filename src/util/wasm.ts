/**
 * Loading the repository's WebAssembly kernels (src/linalg/gram-fold.wat, src/estimate/em-d1.wat,
 * assembled by `npm run build`): the part of the WebAssembly JS API used (the project's lib
 * settings carry no WebAssembly types) and one lazily compiled module per file, or the reason it
 * is unavailable (file missing or invalid), so callers can fall back to their JavaScript path.
 */
import { readFileSync } from 'node:fs';

export interface WasmModule {
  readonly kind?: never;
}
export interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { readonly exports: unknown };
  Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer };
}
export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A loader compiling `url` on first call; afterwards the same module (or null and the reason). */
export function lazyWasmModule(url: URL): () => { readonly module: WasmModule | null; readonly reason: string } {
  let compiled: WasmModule | null | undefined;
  let reason = '';
  return () => {
    if (compiled === undefined) {
      try {
        compiled = new wasmApi.Module(readFileSync(url));
      } catch (e) {
        compiled = null;
        reason = e instanceof Error ? e.message : String(e);
      }
    }
    return { module: compiled, reason };
  };
}
