// Renders a SweepAnalysis as a JSON document, one report document (document.ts) written as
// Markdown and as a self-contained HTML page, and the charts (charts.ts) as SVG and PNG.
//
// The sections: sections-findings.ts (the paper's claims as tested, first), sections-results.ts and
// sections-fits.ts (what was measured), sections-paper.ts, sections-cfg.ts and sections-diversity.ts
// (the paper's analyses), sections-context.ts (samples, the paper's slopes, the run); format.ts
// formats their numbers.
import type { SweepAnalysis } from '../../contracts/analysis.js';
import { renderChartSvg, renderRecognizabilitySvg } from './charts.js';
import { toMarkdown, type Block } from './document.js';
import { toHtml, type HtmlFigure } from './html.js';
import { rasterizeSvg, type RasterImage } from './raster.js';
import type { SampleSheet } from './samples.js';
import { RECOGNIZABILITY_FIGURE, SCALING_FIGURE } from './figures.js';
import { figureSection, headlineSection, methodSection, resultsSection, sourcesSection, titleSection } from './sections-results.js';
import { comparisonSection, fitsSection } from './sections-fits.js';
import { findingsSection } from './sections-findings.js';
import { paperSections } from './sections-paper.js';
import { cfgSection } from './sections-cfg.js';
import { diversitySections } from './sections-diversity.js';
import { DIVERSITY_FIGURE, renderDiversitySvg } from './diversity-chart.js';
import { paperContextSection, runSections, samplesSection, specSection } from './sections-context.js';
import { specDataset } from './format.js';
import { reportView, type ReportDatasets } from './dataset-view.js';
import { datasetSection } from './sections-dataset.js';

export { RECOGNIZABILITY_FIGURE, SCALING_FIGURE } from './figures.js';
export { DIVERSITY_FIGURE } from './diversity-chart.js';
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
  /** The plan's datasets (plan.dataset, plan.evalDatasets) and eval sets; absent in plans from before datasets (dataset-view.ts falls back on the spec). */
  dataset?: ReportDatasets['dataset'];
  evalDatasets?: ReportDatasets['evalDatasets'];
  evalSets?: ReportDatasets['evalSets'];
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
  /** The CFG trade-off figure (cfg-tradeoff.svg), when the sweep has sources that differ only in CFG. */
  diversitySvg: string | null;
  diversityPng: RasterImage | null;
}

/** The whole report as one document, in reading order: the findings first, linking to the sections after them. */
export function reportDocument(a: SweepAnalysis, meta: ReportMeta, extras: ReportExtras = {}): Block[] {
  const view = reportView(a, meta.spec, meta);
  const body = [
    ...methodSection(a),
    ...headlineSection(a, view),
    // The chart right after the headline numbers: the first thing a reader of the page looks for.
    ...figureSection(),
    // What the sweep trained and evaluated on, before the sources drawn from it.
    ...datasetSection(view),
    ...sourcesSection(a),
    ...resultsSection(a, view),
    ...fitsSection(a, view),
    ...comparisonSection(a, view),
    ...paperSections(a, view),
    ...cfgSection(a, view),
    ...diversitySections(a, view.clean),
    ...samplesSection(extras),
    ...paperContextSection(a, view.dataset?.title ?? specDataset(meta.spec)),
    ...runSections(a, meta),
    ...specSection(meta.spec),
  ];
  const sections = new Set(body.flatMap((b) => (b.kind === 'heading' && b.level === 2 && typeof b.text === 'string' ? [b.text] : [])));
  return [...titleSection(a, meta, view), ...findingsSection(a, sections), ...body];
}

/** Renders the analysis as JSON ({ meta, analysis }), Markdown, HTML, and the charts as SVG and PNG. */
export async function renderReport(analysis: SweepAnalysis, meta: ReportMeta, extras: ReportExtras = {}): Promise<RenderedReport> {
  const json = JSON.stringify({ meta, analysis }, null, 2);
  const view = reportView(analysis, meta.spec, meta);
  const svg = await renderChartSvg(analysis, meta.sweepId, view);
  const recognizabilitySvg = await renderRecognizabilitySvg(analysis);
  const diversitySvg = await renderDiversitySvg(analysis, view.clean);
  const raster = (s: string | null) => (s === null ? null : rasterizeSvg(s));
  const [png, recognizabilityPng, diversityPng] = await Promise.all([rasterizeSvg(svg), raster(recognizabilitySvg), raster(diversitySvg)]);
  const blocks = reportDocument(analysis, meta, extras);
  const figures = new Map<string, HtmlFigure>([[SCALING_FIGURE.file, { svg }]]);
  if (recognizabilitySvg !== null) figures.set(RECOGNIZABILITY_FIGURE.file, { svg: recognizabilitySvg });
  if (diversitySvg !== null) figures.set(DIVERSITY_FIGURE.file, { svg: diversitySvg });
  for (const sheet of extras.sampleSheets ?? []) figures.set(sheet.file, sheet.image);
  const html = toHtml(blocks, { title: `Scaling report: ${meta.sweepId}`, figures });
  return { json, markdown: toMarkdown(blocks), html, svg, png, recognizabilitySvg, recognizabilityPng, diversitySvg, diversityPng };
}
