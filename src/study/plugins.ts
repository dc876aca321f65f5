/**
 * Plugins: a study's "plugins": ["./my-kind.js", ...] names ES modules, resolved relative to the
 * study's folder, that register model kinds. A plugin either calls `registerKind` (imported from
 * the package) when it loads, or exports `kinds` (an array of ModelKind) or a default ModelKind /
 * array, which the loader registers. The runner loads them in the main thread (so configs are
 * validated before any cell runs) and in every worker thread, so plugin kinds run in parallel,
 * shard and resume like the built-in ones.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../util/errors.js';
import { registerKind, type ModelKind } from './registry.js';

/** File URLs of a study's plugins (each must exist), in order. */
export function pluginUrls(plugins: ReadonlyArray<string> | undefined, dir: string): string[] {
  return (plugins ?? []).map((p, i) => {
    const path = isAbsolute(p) ? p : resolve(dir, p);
    if (!existsSync(path)) throw new InputError(`plugins[${i}]`, 'a path to an ES module, relative to the study\'s folder', `${JSON.stringify(p)} (no file ${path})`);
    return pathToFileURL(path).href;
  });
}

function isKind(v: unknown): v is ModelKind {
  return v !== null && typeof v === 'object' && typeof (v as ModelKind).kind === 'string' && typeof (v as ModelKind).build === 'function';
}

/** Import the plugins and register the kinds they export (their own registerKind calls register themselves). */
export async function loadPlugins(urls: ReadonlyArray<string>): Promise<void> {
  for (const [i, url] of urls.entries()) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(url)) as Record<string, unknown>;
    } catch (e) {
      throw new InputError(`plugins[${i}]`, 'an ES module that loads', `${url}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
    const exported = [mod.kinds, mod.default].flatMap((v) => (Array.isArray(v) ? (v as unknown[]) : v === undefined ? [] : [v]));
    for (const k of exported) if (isKind(k)) registerKind(k);
  }
}
