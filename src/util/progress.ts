/**
 * Progress bars for long runs (cli-progress), written to stderr so stdout stays machine-readable.
 * Silent when stderr is not a terminal unless forced, so CI logs stay short: then a plain line is
 * printed every `every` steps instead.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  tick(by?: number, note?: string): void;
  stop(): void;
}

export function progressBar(total: number, label: string, opts: { quiet?: boolean; every?: number } = {}): Progress {
  if (opts.quiet === true) return { tick: () => undefined, stop: () => undefined };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} {percentage}% | ETA {eta_formatted} | {note}`, stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { note: '' });
    return { tick: (by = 1, note = '') => bar.increment(by, { note }), stop: () => bar.stop() };
  }
  const every = opts.every ?? Math.max(1, Math.ceil(total / 10));
  const t0 = Date.now();
  let done = 0;
  return {
    tick(by = 1, note = '') {
      const before = Math.floor(done / every);
      done += by;
      if (Math.floor(done / every) > before || done === total) {
        const el = (Date.now() - t0) / 1000;
        const eta = done > 0 ? (el * (total - done)) / done : 0;
        process.stderr.write(`${label}: ${done}/${total} (${((100 * done) / total).toFixed(0)}%), ${el.toFixed(0)} s elapsed, ETA ${eta.toFixed(0)} s ${note}\n`);
      }
    },
    stop: () => undefined,
  };
}
