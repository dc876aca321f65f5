/**
 * Worker-thread entry of the study runner: receives the resolved variants once (workerData),
 * then cells one at a time, and posts back each results line (or the error that stopped it).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runCell, type Cell } from './cell.js';
import type { AtomHealthOptions } from '../loss/atoms.js';
import { loadPlugins } from './plugins.js';
import type { ResolvedVariant } from './schema.js';

interface Init {
  readonly variants: ResolvedVariant[];
  readonly loss: string;
  readonly health: AtomHealthOptions;
  /** File URLs of the study's plugins, imported before the first cell. */
  readonly plugins?: string[];
}

const init = workerData as Init;
const byName = new Map(init.variants.map((v) => [v.name, v]));
const ready = loadPlugins(init.plugins ?? []);

parentPort?.on('message', (cell: Cell) => {
  void ready.then(() => handle(cell), (e: unknown) => parentPort?.postMessage({ cell, error: e instanceof Error ? e.message : String(e) }));
});

function handle(cell: Cell): void {
  try {
    const v = byName.get(cell.variant);
    if (v === undefined) throw new Error(`unknown variant ${cell.variant}`);
    parentPort?.postMessage({ cell, line: runCell(v, init.loss, cell, init.health) });
  } catch (e) {
    parentPort?.postMessage({ cell, error: e instanceof Error ? e.message : String(e) });
  }
}
