/**
 * Text measurement from the font file itself. Vega lays out legends, axis titles and labels by
 * measuring text; without a canvas package it guesses 0.8 em per character, which leaves
 * ragged gaps. Here the advance widths are read from DejaVu Sans's own tables (cmap format 4 and
 * hmtx), so the layout matches what resvg draws, and is the same on every machine with the file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FONT_DIR } from './theme.js';

export interface FontMetrics {
  readonly unitsPerEm: number;
  /** Advance width of one code point in font units (the .notdef width if the font lacks it). */
  advance(codePoint: number): number;
}

function tables(buf: Buffer): Map<string, { offset: number; length: number }> {
  const n = buf.readUInt16BE(4);
  const out = new Map<string, { offset: number; length: number }>();
  for (let i = 0; i < n; i++) {
    const p = 12 + 16 * i;
    out.set(buf.toString('latin1', p, p + 4), { offset: buf.readUInt32BE(p + 8), length: buf.readUInt32BE(p + 12) });
  }
  return out;
}

/** Parse the metrics of a TrueType file (BMP characters through a format-4 cmap). */
export function parseFontMetrics(buf: Buffer): FontMetrics {
  const t = tables(buf);
  const need = (tag: string): number => {
    const e = t.get(tag);
    if (e === undefined) throw new Error(`font: no ${tag} table`);
    return e.offset;
  };
  const head = need('head');
  const hhea = need('hhea');
  const hmtx = need('hmtx');
  const cmap = need('cmap');
  const unitsPerEm = buf.readUInt16BE(head + 18);
  const numberOfHMetrics = buf.readUInt16BE(hhea + 34);
  let sub = -1;
  const nSub = buf.readUInt16BE(cmap + 2);
  for (let i = 0; i < nSub; i++) {
    const p = cmap + 4 + 8 * i;
    const platform = buf.readUInt16BE(p);
    const encoding = buf.readUInt16BE(p + 2);
    const off = cmap + buf.readUInt32BE(p + 4);
    if (buf.readUInt16BE(off) === 4 && ((platform === 3 && encoding === 1) || platform === 0)) {
      sub = off;
      if (platform === 3) break;
    }
  }
  if (sub < 0) throw new Error('font: no format-4 Unicode cmap');
  const segCount = buf.readUInt16BE(sub + 6) / 2;
  const ends = sub + 14;
  const starts = ends + 2 * segCount + 2;
  const deltas = starts + 2 * segCount;
  const rangeOffsets = deltas + 2 * segCount;
  const glyphOf = (c: number): number => {
    for (let s = 0; s < segCount; s++) {
      if (buf.readUInt16BE(ends + 2 * s) < c) continue;
      const start = buf.readUInt16BE(starts + 2 * s);
      if (start > c) return 0;
      const delta = buf.readUInt16BE(deltas + 2 * s);
      const ro = buf.readUInt16BE(rangeOffsets + 2 * s);
      if (ro === 0) return (c + delta) & 0xffff;
      const g = buf.readUInt16BE(rangeOffsets + 2 * s + ro + 2 * (c - start));
      return g === 0 ? 0 : (g + delta) & 0xffff;
    }
    return 0;
  };
  const cache = new Map<number, number>();
  return {
    unitsPerEm,
    advance(c: number): number {
      let w = cache.get(c);
      if (w === undefined) {
        const g = c > 0xffff ? 0 : glyphOf(c);
        const idx = Math.min(g, numberOfHMetrics - 1);
        w = buf.readUInt16BE(hmtx + 4 * idx);
        cache.set(c, w);
      }
      return w;
    },
  };
}

const loaded = new Map<string, FontMetrics>();

/** Metrics of a DejaVu file in FONT_DIR, loaded once. */
export function fontMetrics(file: string): FontMetrics {
  let m = loaded.get(file);
  if (m === undefined) {
    m = parseFontMetrics(readFileSync(join(FONT_DIR, file)));
    loaded.set(file, m);
  }
  return m;
}

/** Width in px of `text` at `fontSize` px in DejaVu Sans (bold when asked). */
export function textWidth(text: string, fontSize: number, bold = false): number {
  const m = fontMetrics(bold ? 'DejaVuSans-Bold.ttf' : 'DejaVuSans.ttf');
  let units = 0;
  for (const ch of text) units += m.advance(ch.codePointAt(0) as number);
  return (units * fontSize) / m.unitsPerEm;
}
