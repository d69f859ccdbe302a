// What the report tests share: a six-source sweep (one source with a hostile description, one
// with a hostile prompt provenance) analysed on a clean and an OOD eval set, its report meta, and
// checks of a rendered page and of PNG pixels.
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { analyzeSweep, type SweepAnalysis } from '../../../activities/analyze/analyze-sweep.js';
import type { ReportMeta } from '../../../activities/report/render.js';
import { FASHION_MNIST_CLASSES } from '../../../core/datasets/fashion-mnist.js';
import type { CellMetrics, SourceSummary } from '../../../contracts/types.js';

export const HOSTILE = '<img src=x onerror=alert(1)>';
export const CLASSES = [...FASHION_MNIST_CLASSES];
const SIZES = [100, 300, 1000, 3000];
const SEEDS = [0, 1];

export function synthetic(name: string, cfgScale: number, extra: Partial<SourceSummary> = {}): SourceSummary {
  return { name, kind: 'synthetic', description: `embedded-gmm, classnames, CFG ${cfgScale}`, cfgScale, promptStrategy: 'classnames', manifestUri: `mem://${name}`, images: 3000, ...extra };
}

/** Six sources: real and five synthetic ones, one with a hostile description, one with a hostile prompt provenance. */
export function sweepSources(): SourceSummary[] {
  return [
    { name: 'real', kind: 'real', description: 'Fashion-MNIST train split', manifestUri: 'mem://real', images: 3000 },
    synthetic('synth-cfg1', 1, { description: `embedded-gmm ${HOSTILE} | **not bold**` }),
    synthetic('synth-cfg2', 2, { promptProvenance: `word2sentence: ${HOSTILE} "q" & 'a' \`x\`` }),
    synthetic('synth-cfg4', 4),
    synthetic('synth-cfg8', 8),
    synthetic('synth-cfg12', 12),
  ];
}

/** Power-law curves with seed noise (two seeds: wide t intervals) on a clean and an OOD eval set. */
export function sweepCells(sources: readonly SourceSummary[]): CellMetrics[] {
  let state = 7;
  const noise = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.08;
  return sources.flatMap((source, s) =>
    ['test', 'ood-invert'].flatMap((evalSet) =>
      SIZES.flatMap((size) =>
        SEEDS.map((seed) => {
          const b = (s === 0 ? 0.4 : 0.1 + s / 30) * (evalSet === 'test' ? 1 : 0.6);
          const error = Math.min(0.95, 1.5 * size ** -b) * (1 + noise());
          return {
            source: source.name,
            size,
            seed,
            evalSet,
            loss: 3 * size ** -b * (1 + noise()),
            accuracy: 1 - error,
            ece: 0.05,
            perClassAccuracy: CLASSES.map((_, k) => 1 - error * (0.5 + k / 10)),
            trainSteps: 1,
            trainSeconds: 1,
            resultUri: 'mem://cell',
          };
        }),
      ),
    ),
  );
}

/** Four sizes over 1.5 decades: the gates are relaxed to match, so the slopes are reported. */
export function sweepAnalysis(sources = sweepSources()): SweepAnalysis {
  return analyzeSweep(sweepCells(sources), sources, {
    analysis: { minSizes: 4, minDecades: 1.4, bootstrapDraws: 400 },
    recognizability: ['synth-cfg1', 'synth-cfg2'].map((source, j) => ({
      source,
      overall: 0.6,
      judgeTestAccuracy: 0.85,
      classes: CLASSES,
      perClass: CLASSES.map((_, k) => ((k * 7 + j * 3) % 10) / 10),
    })),
  });
}

export const META: ReportMeta = {
  sweepId: 'html-sweep',
  spec: { sweepId: 'html-sweep', dataset: 'fashion-mnist', note: HOSTILE },
  generatedAt: '2024-06-01T00:00:00.000Z',
  stageTimings: { generate: 12.5, train: 250 },
  cacheHits: 3,
  notes: [`note with ${HOSTILE}`],
};

/** Every start tag with its attribute names (text is escaped, so each '<' left starts a real tag). */
export function tags(html: string): { name: string; attributes: string[]; raw: string }[] {
  return [...html.matchAll(/<([a-zA-Z][\w:-]*)((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*\/?>/g)].map((m) => ({
    name: m[1]!.toLowerCase(),
    attributes: [...m[2]!.matchAll(/\s+([^\s=>/]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?/g)].map((a) => a[1]!.toLowerCase()),
    raw: m[0],
  }));
}

const HTML_TAGS = 'html head meta title style body h1 h2 h3 p ul ol li nav a strong em code pre div table thead tbody tr th td figure figcaption img details summary section form input label span';
const SVG_TAGS = 'svg g path rect line text tspan defs lineargradient stop clippath';
const ALLOWED_TAGS = new Set(`${HTML_TAGS} ${SVG_TAGS}`.split(' '));

export function assertSelfContained(html: string): void {
  assert.ok(!/<script\b/i.test(html), 'no <script>');
  assert.ok(!/(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i.test(html), 'no src/href to http(s) or protocol-relative URLs');
  assert.ok(!/url\(\s*["']?\s*(?:https?:)?\/\//i.test(html), 'no CSS url() to the network');
  assert.ok(!/@import/i.test(html), 'no CSS @import');
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">/);
  for (const tag of tags(html)) {
    assert.ok(ALLOWED_TAGS.has(tag.name), `unexpected <${tag.name}>`);
    assert.ok(!tag.attributes.some((a) => a.startsWith('on')), `event handler attribute in ${tag.raw.slice(0, 120)}`);
    if (tag.name === 'img') assert.match(tag.raw, /src="data:image\/png;base64,[A-Za-z0-9+/=]+"/, 'images are embedded PNGs');
    if (tag.name === 'a') assert.match(tag.raw, /href="#[a-z0-9-]+"/, 'links only to the page itself');
    // The source legend's form: checkboxes and a reset button, nothing that submits anywhere.
    if (tag.name === 'form') assert.ok(!tag.attributes.some((a) => a === 'action' || a === 'method' || a === 'target'), `a form that goes nowhere: ${tag.raw}`);
    if (tag.name === 'input') assert.match(tag.raw, /type="(checkbox|reset)"/, `only checkboxes and reset buttons: ${tag.raw}`);
  }
}

/** The rows of a grey (or RGB) PNG as luminance, for pixel checks. */
export async function greyPixels(png: Uint8Array): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 1);
  return { data, width: info.width, height: info.height };
}
