// Renders a SweepAnalysis as a JSON document, one report document (document.ts) written as
// Markdown and as a self-contained HTML page, and the charts (charts.ts) as SVG and PNG.
//
// The sections: sections-findings.ts (the paper's claims as tested, first), sections-results.ts and
// sections-fits.ts (what was measured), sections-paper.ts, sections-cfg.ts and sections-diversity.ts
// (the paper's analyses), sections-context.ts (samples, the paper's slopes, the run); format.ts
// formats their numbers.
import { generatorTypeSection } from './sections-generators.js';
import type { DecisionDocument } from '../../contracts/adaptive-run.js';
import { ADAPTIVE_FIGURE, adaptiveSections, renderAdaptiveSvg, widthRows } from './sections-adaptive.js';
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
import { reportLayout, type ReportLayout } from './layout.js';
import { summarySection } from './sections-summary.js';
import { slopeRatioSection, sourceToggles, sameImagesSection } from './sections-scale.js';
import { slopeRatioHeatmapSpec, SLOPE_RATIO_FIGURE } from './heatmap.js';
import { toSvg } from './charts.js';
import { useFacets } from './facet-chart.js';

export { RECOGNIZABILITY_FIGURE, SCALING_FIGURE } from './figures.js';
export { DIVERSITY_FIGURE } from './diversity-chart.js';
export { SLOPE_RATIO_FIGURE } from './heatmap.js';
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
  /** Source name -> digest of its images (image-digest.ts): sources with equal digests are shown once. */
  imageDigests?: Record<string, string>;
  /** spec.adaptive: the loop's decisions in order (sections-adaptive.ts). */
  adaptive?: DecisionDocument[];
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
  /** The slope-ratio heatmap (slope-ratios.svg, .png), when the sweep has comparisons to real data. */
  slopeRatioSvg: string | null;
  slopeRatioPng: RasterImage | null;
  /** An adaptive sweep's interval widths against cells spent (adaptive-widths.svg, .png). */
  adaptiveSvg: string | null;
  adaptivePng: RasterImage | null;
}

/** The whole report as one document, in reading order: the findings first, linking to the sections after them. */
export function reportDocument(a: SweepAnalysis, meta: ReportMeta, extras: ReportExtras = {}, layout: ReportLayout = reportLayout(a.sources, meta.spec, extras.imageDigests)): Block[] {
  const view = reportView(a, meta.spec, meta);
  const body = [
    ...methodSection(a),
    ...headlineSection(a, view, layout),
    // The charts right after the headline numbers: the first thing a reader of the page looks for.
    ...slopeRatioSection(a, layout),
    ...figureSection(useFacets(a, layout, view.clean ?? a.evalSets[0] ?? '')),
    ...sourceToggles(a, layout),
    // What the sweep trained and evaluated on, before the sources drawn from it.
    ...datasetSection(view),
    ...sourcesSection(a),
    ...sameImagesSection(layout),
    ...resultsSection(a, view, layout),
    ...fitsSection(a, view, layout),
    ...comparisonSection(a, view, layout),
    ...adaptiveSections(extras.adaptive, extras.adaptive !== undefined && widthRows(extras.adaptive).length > 0),
    ...paperSections(a, view, layout),
    ...cfgSection(a, view, layout),
    ...generatorTypeSection(a, meta.spec, view, layout),
    ...diversitySections(a, view.clean),
    ...samplesSection(extras),
    ...paperContextSection(a, view.dataset?.title ?? specDataset(meta.spec)),
    ...runSections(a, meta),
    ...specSection(meta.spec),
  ];
  const sections = new Set(body.flatMap((b) => (b.kind === 'heading' && b.level === 2 && typeof b.text === 'string' ? [b.text] : [])));
  const findings = findingsSection(a, sections);
  if (findings.length > 0) sections.add('Findings');
  // The summary first, under the title: one screen with the headline numbers and verdicts.
  const [title, ...facts] = titleSection(a, meta, view);
  return [title!, ...summarySection(a, layout, view, sections), ...facts, ...findings, ...body];
}

/** Renders the analysis as JSON ({ meta, analysis }), Markdown, HTML, and the charts as SVG and PNG. */
export async function renderReport(analysis: SweepAnalysis, meta: ReportMeta, extras: ReportExtras = {}): Promise<RenderedReport> {
  const json = JSON.stringify({ meta, analysis }, null, 2);
  const view = reportView(analysis, meta.spec, meta);
  const layout = reportLayout(analysis.sources, meta.spec, extras.imageDigests);
  const svg = await renderChartSvg(analysis, meta.sweepId, view, layout);
  const heatmap = slopeRatioHeatmapSpec(analysis, layout, view);
  const slopeRatioSvg = heatmap ? await toSvg(heatmap) : null;
  const recognizabilitySvg = await renderRecognizabilitySvg(analysis);
  const diversitySvg = await renderDiversitySvg(analysis, view.clean);
  const adaptiveSvg = await renderAdaptiveSvg(extras.adaptive);
  const raster = (s: string | null) => (s === null ? null : rasterizeSvg(s));
  const [png, recognizabilityPng, diversityPng, slopeRatioPng, adaptivePng] = await Promise.all([
    rasterizeSvg(svg),
    raster(recognizabilitySvg),
    raster(diversitySvg),
    raster(slopeRatioSvg),
    raster(adaptiveSvg),
  ]);
  const blocks = reportDocument(analysis, meta, extras, layout);
  const figures = new Map<string, HtmlFigure>([[SCALING_FIGURE.file, { svg }]]);
  if (slopeRatioSvg !== null) figures.set(SLOPE_RATIO_FIGURE.file, { svg: slopeRatioSvg });
  if (recognizabilitySvg !== null) figures.set(RECOGNIZABILITY_FIGURE.file, { svg: recognizabilitySvg });
  if (diversitySvg !== null) figures.set(DIVERSITY_FIGURE.file, { svg: diversitySvg });
  if (adaptiveSvg !== null) figures.set(ADAPTIVE_FIGURE.file, { svg: adaptiveSvg });
  for (const sheet of extras.sampleSheets ?? []) figures.set(sheet.file, sheet.image);
  const html = toHtml(blocks, { title: `Scaling report: ${meta.sweepId}`, figures });
  return {
    json,
    markdown: toMarkdown(blocks),
    html,
    svg,
    png,
    recognizabilitySvg,
    recognizabilityPng,
    diversitySvg,
    diversityPng,
    slopeRatioSvg,
    slopeRatioPng,
    adaptiveSvg,
    adaptivePng,
  };
}
