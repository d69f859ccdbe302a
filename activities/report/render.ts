// Renders a SweepAnalysis as a JSON document, one report document (document.ts) written as
// Markdown and as a self-contained HTML page, and the charts (charts.ts) as SVG and PNG.
//
// The sections: sections-results.ts (what was measured), sections-paper.ts (the paper's analyses),
// sections-context.ts (samples, the paper's slopes, the run); format.ts formats their numbers.
import type { SweepAnalysis } from '../../contracts/analysis.js';
import { renderChartSvg, renderRecognizabilitySvg } from './charts.js';
import { toMarkdown, type Block } from './document.js';
import { toHtml, type HtmlFigure } from './html.js';
import { rasterizeSvg, type RasterImage } from './raster.js';
import type { SampleSheet } from './samples.js';
import { RECOGNIZABILITY_FIGURE, SCALING_FIGURE } from './figures.js';
import { comparisonSection, figureSection, fitsSection, headlineSection, introSection, resultsSection, sourcesSection } from './sections-results.js';
import { paperSections } from './sections-paper.js';
import { paperContextSection, runSections, samplesSection, specSection } from './sections-context.js';
import { specDataset } from './format.js';

export { RECOGNIZABILITY_FIGURE, SCALING_FIGURE } from './figures.js';
export { PAPER_FIGURE1_SLOPES } from './sections-context.js';

export interface ReportMeta {
  sweepId: string;
  /** The sweep spec, stored verbatim in the JSON and shown in the Markdown. */
  spec: unknown;
  /** Wall-clock seconds per stage (e.g. generate, train, evaluate). */
  stageTimings?: Record<string, number>;
  /** ISO timestamp. */
  generatedAt: string;
  /** Cells whose results came from cache instead of being recomputed. */
  cacheHits?: number;
  notes?: string[];
}

/** What the report shows beyond the analysis: read from storage by the activity. */
export interface ReportExtras {
  /** Contact sheets of each source's first images (samples.ts), real first. */
  sampleSheets?: SampleSheet[];
  /** Why a source has no sheet (its shards could not be read). */
  sampleProblems?: string[];
}

export interface RenderedReport {
  /** { meta, analysis } as pretty-printed JSON. */
  json: string;
  markdown: string;
  /** The same document as one self-contained page (charts inline, images as data: URIs). */
  html: string;
  /** Standalone SVG document; the Markdown links it as scaling.svg. */
  svg: string;
  /** scaling.svg rasterized at 2x (scaling.png). */
  png: RasterImage;
  /** Per-class recognizability bars (recognizability.svg), when the sweep measured it. */
  recognizabilitySvg: string | null;
  recognizabilityPng: RasterImage | null;
}

/** The whole report as one document, in reading order. */
export function reportDocument(a: SweepAnalysis, meta: ReportMeta, extras: ReportExtras = {}): Block[] {
  return [
    ...introSection(a, meta),
    ...headlineSection(a),
    // The chart right after the headline numbers: the first thing a reader of the page looks for.
    ...figureSection(),
    ...sourcesSection(a),
    ...resultsSection(a),
    ...fitsSection(a),
    ...comparisonSection(a),
    ...paperSections(a),
    ...samplesSection(extras),
    ...paperContextSection(a, specDataset(meta.spec)),
    ...runSections(a, meta),
    ...specSection(meta.spec),
  ];
}

/** Renders the analysis as JSON ({ meta, analysis }), Markdown, HTML, and the charts as SVG and PNG. */
export async function renderReport(analysis: SweepAnalysis, meta: ReportMeta, extras: ReportExtras = {}): Promise<RenderedReport> {
  const json = JSON.stringify({ meta, analysis }, null, 2);
  const svg = await renderChartSvg(analysis, meta.sweepId);
  const recognizabilitySvg = await renderRecognizabilitySvg(analysis);
  const [png, recognizabilityPng] = await Promise.all([rasterizeSvg(svg), recognizabilitySvg === null ? null : rasterizeSvg(recognizabilitySvg)]);
  const blocks = reportDocument(analysis, meta, extras);
  const figures = new Map<string, HtmlFigure>([[SCALING_FIGURE.file, { svg }]]);
  if (recognizabilitySvg !== null) figures.set(RECOGNIZABILITY_FIGURE.file, { svg: recognizabilitySvg });
  for (const sheet of extras.sampleSheets ?? []) figures.set(sheet.file, sheet.image);
  const html = toHtml(blocks, { title: `Scaling report: ${meta.sweepId}`, figures });
  return { json, markdown: toMarkdown(blocks), html, svg, png, recognizabilitySvg, recognizabilityPng };
}
