// The report of a sweep on the lab's own data: an RGB 32x32 dataset whose title and class names
// carry markup, an eval set on a second dataset with the same classes, and an OOD suite. The
// Dataset section says what was trained and evaluated on (escaped), each eval set is its own
// panel labelled with its dataset's title, and the sample sheets are in colour. Then a 100-class
// dataset: the report stays readable (class lists and per-class tables cut down or collapsed).
// Run: node --import tsx --test test/activities/report/datasets.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import sharp from 'sharp';
import { analyzeSweep } from '../../../activities/analyze/analyze-sweep.js';
import { createReportActivities, type RenderReportOutput } from '../../../activities/report/activity.js';
import { escapeHtml } from '../../../activities/report/html.js';
import { renderReport } from '../../../activities/report/render.js';
import { buildSampleSheets, sheetLayout, thumbnailSide } from '../../../activities/report/samples.js';
import { thumbnail } from '../../../activities/report/sheet-draw.js';
import type { DatasetInfo } from '../../../contracts/plan.js';
import type { CellMetrics, EvalSetSpec, SourceSummary } from '../../../contracts/types.js';
import type { SweepStats } from '../../../contracts/sweep.js';
import type { ImageGeometry } from '../../../core/image/geometry.js';
import { encodePng } from '../../../core/png.js';
import { MANIFEST_FORMAT, writeManifest, type SourceManifest } from '../../../core/shards/manifest.js';
import { packShard, sampleKey } from '../../../core/shards/webdataset.js';
import { openStore, putJson, type BlobStore } from '../../../core/storage.js';
import { assertSelfContained } from './report-fixtures.js';

const TITLE = 'Lab <script>alert(1)</script> colours';
const CLASSES = ['red', 'green', 'blue', 'T-shirt <b>x</b>'];
/** Each class's colour: what its sample images are filled with. */
const COLOURS: [number, number, number][] = [[220, 30, 30], [30, 200, 40], [30, 40, 220], [200, 200, 40]];
const RGB32: ImageGeometry = { size: 32, channels: 3 };

const split = (perClass: number, classes = CLASSES.length) => ({ count: perClass * classes, classCounts: Array.from({ length: classes }, () => perClass) });
const DATASET: DatasetInfo = {
  fingerprint: 'lab-rgb32-0000000000000000',
  title: TITLE,
  origin: 'imagefolder file:///data/lab',
  geometry: RGB32,
  classes: CLASSES,
  splits: { train: split(300), test: split(50) },
  imported: { inputs: 1403, skipped: { count: 3, byReason: { corrupt: 2, 'pixel-cap': 1 }, examples: [{ item: 'train/red/<img src=x>.jpg', reason: 'corrupt' }] } },
};
const SKETCH: DatasetInfo = {
  fingerprint: 'lab-sketch-000000000000000',
  title: 'Sketchy & "odd"',
  origin: 'webdataset gs://bucket/sketch/test-{000..003}.tar',
  geometry: RGB32,
  classes: CLASSES,
  splits: { test: split(40) },
};
const EVAL_SETS: EvalSetSpec[] = [
  { name: 'test', split: 'test', dataset: DATASET.fingerprint },
  { name: 'sketch', split: 'test', dataset: SKETCH.fingerprint },
  { name: 'ood-blur-s3', split: 'test', dataset: DATASET.fingerprint, shift: { suite: 'blur', severity: 3, seed: 0 } },
];
const SPEC = {
  sweepId: 'lab-sweep',
  dataset: { kind: 'imagefolder', root: '/data/lab', title: TITLE },
  image: { size: 32, channels: 3 },
  eval: [
    { name: 'test', split: 'test' },
    { name: 'sketch', split: 'test', dataset: { kind: 'webdataset', splits: { test: ['gs://bucket/sketch/test-{000..003}.tar'] } } },
  ],
};
const STATS: SweepStats = {
  imagesSampled: 0, shardsCached: 0, activityRetries: 0, itemRetries: 0, storageRetries: 0, failedItems: 0, corruptRegenerated: 0,
  cellsDone: 1, cellsCached: 0, cellsTotal: 1, trainStepsRun: 1, cellActivityRetries: 0, runs: 1,
};

/** Power-law cells of each source on each eval set (the synthetic source relatively better under shift). */
function cells(sources: readonly string[], evalSets: readonly string[], classes = CLASSES.length): CellMetrics[] {
  return sources.flatMap((source, s) =>
    evalSets.flatMap((evalSet, e) =>
      [100, 300, 1000, 3000, 10000].flatMap((size) =>
        [0, 1].map((seed) => {
          const b = (s === 0 ? 0.4 : 0.2) * (e === 0 ? 1 : 0.7) * (1 + seed * 0.01);
          const error = Math.min(0.9, 1.4 * size ** -b);
          return {
            source, size, seed, evalSet, loss: 3 * size ** -b, accuracy: 1 - error, ece: 0.05,
            perClassAccuracy: Array.from({ length: classes }, (_, k) => 1 - error * (0.5 + (k % 10) / 10)),
            trainSteps: 1, trainSeconds: 1, resultUri: 'mem://cell',
          };
        }),
      ),
    ),
  );
}

/** Shards of RGB images, each filled with its class's colour, labels cycling over the classes. */
async function writeRgbSource(store: BlobStore, source: string, geometry: ImageGeometry, classes: readonly string[], count: number): Promise<string> {
  const samples = Array.from({ length: count }, (_, index) => {
    const label = index % classes.length;
    const [r, g, b] = COLOURS[label % COLOURS.length]!;
    const pixels = new Uint8Array(geometry.size * geometry.size * 3);
    for (let p = 0; p < geometry.size * geometry.size; p++) pixels.set([r, g, b], p * 3);
    return { key: sampleKey(index), png: encodePng(pixels, geometry), meta: { label, className: classes[label]!, source, index } };
  });
  const put = await store.put(`${source}/shard-0.tar`, await packShard(samples));
  const manifest: SourceManifest = {
    format: MANIFEST_FORMAT, source, kind: 'real', description: source, classes: [...classes], geometry, totalSamples: count,
    shards: [{ uri: put.uri, sha256: put.sha256, bytes: put.size, samples: count, firstIndex: 0, failedItems: [] }],
  };
  return writeManifest(store, `${source}/manifest.json`, manifest);
}

/** The lines of the Markdown section headed `## title`. */
const sectionOf = (markdown: string, title: string) => markdown.split(/^## /m).find((s) => s.startsWith(`${title}\n`)) ?? '';

describe('a sweep on the lab\'s own RGB data with a second eval dataset', () => {
  let dir: string;
  let store: BlobStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'synthscale-report-datasets-'));
    store = openStore(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('the Dataset section, a panel per eval set labelled with its dataset, and colour sample sheets', async (t) => {
    const sources: SourceSummary[] = [
      { name: 'real', kind: 'real', description: `${TITLE} train split`, manifestUri: await writeRgbSource(store, 'real', RGB32, CLASSES, 40), images: 40 },
      { name: 'synth', kind: 'synthetic', description: 'embedded-gmm, classnames, CFG 2', cfgScale: 2, promptStrategy: 'classnames', manifestUri: await writeRgbSource(store, 'synth', RGB32, CLASSES, 40), images: 40 },
    ];
    const analysis = analyzeSweep(cells(['real', 'synth'], EVAL_SETS.map((e) => e.name)), sources, { analysis: { bootstrapDraws: 200, minSizes: 4 }, otherDatasetEvalSets: ['sketch'] });
    const analysisUri = (await putJson(store, 'analysis/lab.json', { sweepId: 'lab-sweep', cells: [], sources, analysis })).uri;
    const activities = createReportActivities({ store, dataDir: dir });
    const started = performance.now();
    const out: RenderReportOutput = await new MockActivityEnvironment().run(activities.renderSweepReport, {
      sweepId: 'lab-sweep', workflowId: 'sweep-lab', analysisUri, spec: SPEC, stageSeconds: {}, stats: STATS,
      dataset: DATASET, evalDatasets: { [SKETCH.fingerprint]: SKETCH }, evalSets: EVAL_SETS,
    });
    const seconds = (performance.now() - started) / 1000;
    const read = (uri: string | undefined) => readFile(fileURLToPath(uri!), 'utf8');
    const [html, markdown, svg] = await Promise.all([read(out.reportHtmlUri), read(out.reportMarkdownUri), read(out.plotUri)]);

    // The Dataset section, every user text escaped in the page and inert in the Markdown.
    assertSelfContained(html);
    assert.ok(!html.includes('<script>alert') && !html.includes('<img src=x>') && !html.includes('<b>x</b>'));
    assert.match(html, /<h2 id="dataset">Dataset<\/h2>/);
    assert.ok(html.includes(`<p><strong>${escapeHtml(TITLE)}</strong> (imagefolder, file:///data/lab)</p>`), 'title and origin');
    assert.ok(html.includes('<strong>images</strong>: 32x32 RGB'));
    assert.ok(html.includes(`4 classes: red · green · blue · ${escapeHtml(CLASSES[3]!)}`));
    assert.ok(html.includes('<strong>imported</strong>: 1,403 inputs read, 3 skipped (corrupt 2, pixel-cap 1)'));
    assert.ok(html.includes(escapeHtml('train/red/<img src=x>.jpg: corrupt')));
    assert.ok(html.includes(escapeHtml(`eval set 'sketch': split test of 'Sketchy & "odd"' (webdataset, gs://bucket/sketch/test-{000..003}.tar, 160 images)`)));
    assert.ok(html.includes(escapeHtml("eval set 'ood-blur-s3': split test of the sweep's dataset under the OOD suite blur, severity 3")));
    assert.ok(html.includes(escapeHtml("eval set 'test': split test of the sweep's dataset")));
    assert.match(html, /<tr><td>train<\/td><td class="short">1,200<\/td><td class="short">300–300<\/td><\/tr>/);
    const section = sectionOf(markdown, 'Dataset');
    assert.ok(section.includes('**Lab \\<script>alert(1)\\</script> colours** (imagefolder, file:///data/lab)'), section);
    assert.ok(!/(?<!\\)<(script|img|b|\/)/.test(section), 'every "<" that could open a tag is escaped');
    assert.match(markdown, /^Generated .* · dataset `Lab <script>alert\(1\)<\/script> colours` \(32x32 RGB, 4 classes\)/m, 'inside a code span, where it is inert');

    // Every eval set is its own panels: in the chart, and as headings of the per-eval-set tables.
    for (const label of ['eval set: test', 'eval set: sketch · Sketchy &amp; "odd"', 'eval set: ood-blur-s3']) {
      assert.equal((svg.match(new RegExp(`>${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}<`, 'g')) ?? []).length, 2, `a loss and an error panel titled '${label}'`);
    }
    // Each folded under its eval set (the first one open): headline, results, fits, comparison.
    assert.equal((html.match(/<details><summary>Eval set sketch: Sketchy &amp; &quot;odd&quot;, split test<\/summary>/g) ?? []).length, 4, 'headline, results, fits, comparison');
    assert.match(sectionOf(markdown, 'Out-of-distribution evaluation'), /\| source \| test \(clean\) \| sketch \(Sketchy & "odd"\) \| ood-blur-s3 \|/);
    const ood = analysis.findings.find((f) => f.claim === 'helps-ood')!;
    assert.deepEqual(ood.evidence.map((e) => e.label), ['synth on sketch', 'synth on ood-blur-s3']);

    // The sample sheets are RGB, each class row in its colour.
    const sheet = await sharp(await readFile(fileURLToPath(out.sampleSheetUris!.real!))).raw().toBuffer({ resolveWithObject: true });
    assert.equal(sheet.info.channels, 3, 'an RGB PNG');
    const layout = sheetLayout(CLASSES.length, 8, thumbnailSide(32));
    assert.equal(layout.cell, 64);
    assert.deepEqual([sheet.info.width, sheet.info.height], [layout.width, layout.height]);
    for (const [row, colour] of COLOURS.entries()) {
      const { left, top } = layout.origin(row, 3);
      const at = ((top + 30) * sheet.info.width + left + 30) * 3;
      const pixel = [...sheet.data.subarray(at, at + 3)];
      assert.ok(pixel.every((v, c) => Math.abs(v - colour[c]!) <= 2), `row ${row}: ${pixel} is ${colour}`);
    }
    assert.match(markdown, /32x32 RGB images shown at 64 px, scaled up without smoothing/);
    const json = JSON.parse(await read(out.reportJsonUri)) as { meta: { dataset: DatasetInfo; evalSets: EvalSetSpec[] } };
    assert.equal(json.meta.dataset.title, TITLE);
    assert.equal(json.meta.evalSets.length, 3);
    t.diagnostic(`report activity, RGB 32x32 sweep with a second eval dataset and an OOD suite: ${seconds.toFixed(2)} s`);
    if (process.env.SYNTHSCALE_KEEP_REPORT) await writeFile(process.env.SYNTHSCALE_KEEP_REPORT, markdown);
  });

  test('without plan datasets (plans from before them) the section comes from the spec and the registry', async () => {
    const analysis = analyzeSweep(cells(['real'], ['test']), [{ name: 'real', kind: 'real', description: 'real', manifestUri: 'mem://real', images: 1 }], { analysis: { bootstrapDraws: 200 } });
    const { markdown } = await renderReport(analysis, { sweepId: 'old', spec: { sweepId: 'old', dataset: 'fashion-mnist' }, generatedAt: '2024-01-01T00:00:00Z' });
    const section = sectionOf(markdown, 'Dataset');
    assert.match(section, /^\*\*Fashion-MNIST\*\* \(built-in\)$/m);
    assert.match(section, /\*\*images\*\*: 28x28 grey/);
    assert.match(section, /10 classes: T-shirt\/top · Trouser · Pullover/);
  });
});

describe('many classes', () => {
  const CLASS_COUNT = 100;
  const many = Array.from({ length: CLASS_COUNT }, (_, k) => `class ${String(k).padStart(3, '0')}`);

  test('class lists and per-class tables are cut down or collapsed; the significance threshold follows the class count', async () => {
    const info: DatasetInfo = { ...DATASET, classes: many, wnids: many.map((_, k) => (k % 2 === 0 ? `n0${String(1440764 + k).padStart(7, '0')}` : null)), splits: { train: split(30, CLASS_COUNT) } };
    const sources: SourceSummary[] = [
      { name: 'real', kind: 'real', description: 'real', manifestUri: 'mem://real', images: 1 },
      { name: 'synth', kind: 'synthetic', description: 'synthetic', cfgScale: 2, manifestUri: 'mem://synth', images: 1 },
    ];
    const analysis = analyzeSweep(cells(['real', 'synth'], ['test'], CLASS_COUNT), sources, {
      analysis: { bootstrapDraws: 200 },
      recognizability: [{ source: 'synth', overall: 0.5, judgeTestAccuracy: 0.8, classes: many, perClass: many.map((_, k) => ((k * 37) % 100) / 100) }],
    });
    const { markdown, recognizabilitySvg } = await renderReport(analysis, { sweepId: 'many', spec: { sweepId: 'many' }, generatedAt: '2024-01-01T00:00:00Z', dataset: info });
    assert.match(sectionOf(markdown, 'Dataset'), /100 classes; the first 8: class 000 · class 001 .* class 007 … and 92 more \(all in report\.json\)/);
    assert.match(sectionOf(markdown, 'Dataset'), /\*\*WordNet ids\*\*: 50 of 100 classes/);
    const recognizability = sectionOf(markdown, 'Recognizability');
    assert.match(recognizability, /\| synth \| class 000 0\.00 \(-\d\.\d\d\) · class 073 0\.01 .* \| class 027 0\.99 \(-\d\.\d\d\) · class 054 0\.98/, 'the least and the most recognizable classes');
    assert.match(recognizability, /<details><summary>Per-class recognized share \(accuracy gap to real\), all 100 classes<\/summary>/);
    assert.equal((recognizability.match(/^\| class \d{3} \|/gm) ?? []).length, 100, 'one row per class in the collapsed table');
    assert.match(recognizability, /With 100 classes, \|r\| below about 0\.20 is not significant at the 5% level/);
    assert.ok(recognizabilitySvg && recognizabilitySvg.length < 400_000, 'one dot plot, not 100 bar columns');
  });

  test('sample sheets of many classes and large images: 24 classes spread over the list, thumbnails reduced', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'synthscale-report-many-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const store = openStore(dir);
    const geometry: ImageGeometry = { size: 128, channels: 3 };
    const uri = await writeRgbSource(store, 'big', geometry, many, 300);
    const { sheets } = await buildSampleSheets(store, [{ name: 'big', kind: 'real', description: 'big', manifestUri: uri, images: 300 }], { perClass: 2 });
    const sheet = sheets[0]!;
    assert.equal(sheet.classes.length, 24);
    assert.deepEqual(sheet.classes.slice(0, 3), ['class 000', 'class 004', 'class 008']);
    assert.deepEqual(sheet.shown, sheet.classes.map(() => 2));
    assert.equal(sheet.cell, 64);
    assert.deepEqual([sheet.image.width, sheet.image.height], [sheetLayout(24, 2, 64).width, sheetLayout(24, 2, 64).height]);
  });
});

test('thumbnail sizes stay readable from 8 to 512 px; reduction averages, enlargement keeps pixels sharp', () => {
  assert.deepEqual([8, 16, 28, 32, 48, 56, 64, 100, 112, 128, 224, 256, 512].map(thumbnailSide), [56, 64, 56, 64, 96, 56, 64, 100, 112, 64, 75, 85, 85]);
  const grey = { size: 4, channels: 1 as const };
  const image = Uint8Array.from([0, 100, 10, 10, 200, 40, 10, 10, 0, 0, 50, 50, 0, 0, 50, 50]);
  assert.deepEqual([...thumbnail(image, grey, 2)], [85, 10, 0, 50]);
  const up = thumbnail(Uint8Array.from([1, 2, 3, 4]), { size: 2, channels: 1 }, 4);
  assert.deepEqual([...up], [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  const rgb = thumbnail(Uint8Array.from([255, 0, 0, 0, 0, 255, 255, 0, 0, 0, 0, 255]), { size: 2, channels: 3 }, 1);
  assert.deepEqual([...rgb], [128, 0, 128]);
});
