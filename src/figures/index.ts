/** Figures: one publication theme, vega-lite spec builders, headless SVG/PNG rendering, and the catalog of committed figures. */
export * from './theme.js';
export { renderSvg, renderFigure, svgToPng, writeFigure, compileSpec, specJson, type VlSpec, type RenderedFigure, type WrittenFigure } from './render.js';
export { ratePlotSpec, type RatePoint, type RateFit, type RateClaim, type RatePlotInput } from './specs/rate-plot.js';
export { gateHeatmapSpec, type GatePanel } from './specs/gate-heatmap.js';
export { sampleEfficiencySpec, type EfficiencyPoint } from './specs/sample-efficiency.js';
export { simVsVitSpec, type SlopeEntry } from './specs/sim-vs-vit.js';
export { simVsVitComparison, simVsVitMarkdown, agreementOf, COMPARED, type SimVsVitRow, type VitSlope } from './sim-vs-vit-data.js';
export { gatePanels, gateFigureConfigSchema, type GateFigureConfig } from './gates.js';
export { CATALOG, catalogFigure, type CatalogFigure } from './catalog.js';

import { catalogFigure } from './catalog.js';
import type { VlSpec } from './render.js';

/** The spec of a committed figure, built from the committed inputs under `root` (default: cwd). */
export function buildCatalogFigure(id: string, root = process.cwd()): VlSpec {
  return catalogFigure(id).build(root);
}
