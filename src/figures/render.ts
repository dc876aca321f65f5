/**
 * Rendering: vega-lite -> vega -> SVG (headless, renderer 'none') -> PNG (resvg). Output bytes
 * depend only on the spec: no timestamps, ids reset before every compile, text measured from the
 * DejaVu Sans file (fonts.ts) and the PNG drawn with exactly that file loaded (no system font
 * discovery). `writeFigure` puts NAME.svg, NAME.png and NAME.vl.json side by side.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { createRequire } from 'node:module';
import { textWidth } from './fonts.js';
import { FONT_DIR, FONT_FAMILY, FONT_FILES } from './theme.js';

/** A vega-lite spec as plain JSON (the builders in specs/ return these). */
export type VlSpec = Record<string, unknown>;

export interface RenderedFigure {
  /** The compiled vega spec. */
  readonly vega: vega.Spec;
  readonly svg: string;
  readonly png: Buffer;
}

export interface RenderOptions {
  /** PNG pixels per SVG px (pt); 4 gives about 290 dpi at print size. Default 4. */
  readonly scale?: number;
}

/** Fail early, with the fix, when the font file is missing. */
export function fontFiles(): string[] {
  const files = FONT_FILES.map((f) => join(FONT_DIR, f));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new Error(`figures need the DejaVu fonts (${missing.join(', ')} missing): install them with \`apt-get install fonts-dejavu-core\``);
  }
  return files;
}

interface TextItem {
  fontSize?: number | string;
  fontWeight?: string | number;
}

let metricsInstalled = false;
/** Make vega measure text with DejaVu Sans's real advance widths (instead of its 0.8 em guess). */
function installTextMetrics(): void {
  if (metricsInstalled) return;
  fontFiles();
  // vega's typings omit textMetrics, but the module exports it and vega-scenegraph reads its `width`.
  const metrics = (vega as unknown as { textMetrics: { width: (item: TextItem, text: unknown) => number } }).textMetrics;
  metrics.width = (item: TextItem, text: unknown): number => {
    const s = text == null ? '' : String(text).trim();
    const size = item.fontSize != null ? +item.fontSize || 0 : 11;
    const w = item.fontWeight;
    const bold = w === 'bold' || w === 'bolder' || (typeof w === 'number' && w >= 600) || (typeof w === 'string' && Number(w) >= 600);
    return textWidth(s, size, bold);
  };
  metricsInstalled = true;
}

/** Compile a vega-lite spec to vega, deterministically (vega-lite's id counter is reset first). */
export function compileSpec(spec: VlSpec): vega.Spec {
  vl.resetIdCounter();
  // Vega-lite's warnings about facet scale merging are expected here; only errors are reported.
  return vl.compile(spec as unknown as vl.TopLevelSpec, { logger: vega.logger(vega.Error) }).spec as vega.Spec;
}

/** SVG text of a vega-lite spec. */
export async function renderSvg(spec: VlSpec): Promise<{ vega: vega.Spec; svg: string }> {
  installTextMetrics();
  const vg = compileSpec(spec);
  const view = new vega.View(vega.parse(vg), { renderer: 'none', logLevel: vega.Error });
  try {
    const svg = await view.toSVG();
    return { vega: vg, svg: svg.endsWith('\n') ? svg : `${svg}\n` };
  } finally {
    view.finalize();
  }
}

/** resvg is a native addon: required on first use, so code that never draws a PNG (and bundles without it) does not load it. */
function resvgClass(): typeof import('@resvg/resvg-js').Resvg {
  return (createRequire(import.meta.url)('@resvg/resvg-js') as typeof import('@resvg/resvg-js')).Resvg;
}

/** PNG bytes of an SVG, drawn by resvg with only the DejaVu files loaded, on white. */
export function svgToPng(svg: string, options: RenderOptions = {}): Buffer {
  const Resvg = resvgClass();
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: false, fontFiles: fontFiles(), defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
    fitTo: { mode: 'zoom', value: options.scale ?? 4 },
    background: 'white',
    shapeRendering: 2,
    textRendering: 1,
    logLevel: 'off',
  });
  return resvg.render().asPng();
}

/** SVG and PNG of a vega-lite spec. */
export async function renderFigure(spec: VlSpec, options: RenderOptions = {}): Promise<RenderedFigure> {
  const { vega: vg, svg } = await renderSvg(spec);
  return { vega: vg, svg, png: svgToPng(svg, options) };
}

/** Stable JSON text of a spec (2-space indent, trailing newline). */
export function specJson(spec: VlSpec): string {
  return `${JSON.stringify(spec, null, 2)}\n`;
}

export interface WrittenFigure {
  readonly id: string;
  readonly files: string[];
  /** Files whose bytes differ from what was there before (new files included). */
  readonly changed: string[];
}

function writeIfChanged(path: string, data: string | Buffer, changed: string[]): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  if (existsSync(path) && readFileSync(path).equals(bytes)) return;
  writeFileSync(path, bytes);
  changed.push(path);
}

/** Render `spec` and write DIR/ID.svg, DIR/ID.png and DIR/ID.vl.json. */
export async function writeFigure(dir: string, id: string, spec: VlSpec, options: RenderOptions = {}): Promise<WrittenFigure> {
  mkdirSync(dir, { recursive: true });
  const fig = await renderFigure(spec, options);
  const files = [join(dir, `${id}.svg`), join(dir, `${id}.png`), join(dir, `${id}.vl.json`)] as const;
  const changed: string[] = [];
  writeIfChanged(files[0], fig.svg, changed);
  writeIfChanged(files[1], fig.png, changed);
  writeIfChanged(files[2], specJson(spec), changed);
  return { id, files: [...files], changed };
}
