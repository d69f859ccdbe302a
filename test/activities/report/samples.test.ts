// The sample sheets show each source's first images per class, read from real shards in a
// temporary FileStore with a bounded number of shard reads; the report activity stores the page,
// the PNGs and the sheets.
// Run: node --import tsx --test test/activities/report/samples.test.ts
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import sharp from 'sharp';
import { buildSampleSheets, sheetLayout, sheetSources } from '../../../activities/report/samples.js';
import { createReportActivities, type RenderReportOutput } from '../../../activities/report/activity.js';
import { MANIFEST_FORMAT, writeManifest, type SourceManifest } from '../../../core/shards/manifest.js';
import { packShard, sampleKey } from '../../../core/shards/webdataset.js';
import { encodeGrayPng } from '../../../core/png.js';
import { openStore, putJson, type BlobStore } from '../../../core/storage.js';
import type { SourceSummary } from '../../../contracts/types.js';
import type { SweepStats } from '../../../contracts/sweep.js';
import { assertSelfContained, CLASSES, greyPixels, HOSTILE, META, sweepAnalysis, sweepSources, synthetic } from './report-fixtures.js';


/** A sample's pixels: a flat grey per (source, class), with pixel (0, 0) saying which of its class it is. */
function samplePixels(base: number, label: number, occurrence: number): Uint8Array {
  const pixels = new Uint8Array(784).fill(base + label * 10);
  pixels[0] = occurrence * 25;
  return pixels;
}

/** Shards of `shardSize` samples, labels cycling through `labels`, under `<source>/`. */
async function writeSource(store: BlobStore, source: string, kind: 'real' | 'synthetic', base: number, shards: number, shardSize: number, labels = 10): Promise<string> {
  const records: SourceManifest['shards'] = [];
  for (let s = 0; s < shards; s++) {
    const samples = Array.from({ length: shardSize }, (_, i) => {
      const index = s * shardSize + i;
      const label = index % labels;
      return { key: sampleKey(index), png: encodeGrayPng(samplePixels(base, label, Math.floor(index / labels)), 28, 28), meta: { label, className: CLASSES[label]!, source, index, prompt: `a photo of a ${CLASSES[label]}` } };
    });
    const put = await store.put(`${source}/shard-${s}.tar`, await packShard(samples));
    records.push({ uri: put.uri, sha256: put.sha256, bytes: put.size, samples: shardSize, firstIndex: s * shardSize, failedItems: [] });
  }
  const manifest: SourceManifest = { format: MANIFEST_FORMAT, source, kind, description: source, classes: CLASSES, totalSamples: shards * shardSize, shards: records };
  return writeManifest(store, `${source}/manifest.json`, manifest);
}

/** A store that counts the shard reads. */
function countingStore(store: BlobStore): { store: BlobStore; shardReads: string[] } {
  const shardReads: string[] = [];
  const counting = Object.create(store) as BlobStore;
  counting.get = (key, opts) => {
    if (key.endsWith('.tar')) shardReads.push(key);
    return store.get(key, opts);
  };
  return { store: counting, shardReads };
}

describe('sample sheets', () => {
  let dir: string;
  let store: BlobStore;
  const BASES: Record<string, number> = { real: 20, 'synth-cfg1': 130 };
  let sources: SourceSummary[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'synthscale-report-html-'));
    store = openStore(dir);
    sources = [
      { ...synthetic('synth-cfg1', 1), manifestUri: await writeSource(store, 'synth-cfg1', 'synthetic', BASES['synth-cfg1']!, 5, 20) },
      { name: 'real', kind: 'real', description: 'real', manifestUri: await writeSource(store, 'real', 'real', BASES.real!, 5, 20), images: 100 },
      // A mixed source reuses the real manifest: no sheet of its own.
      { name: 'mix', kind: 'mixed', description: 'mix', manifestUri: '', images: 200 },
    ];
    sources[2]!.manifestUri = sources[1]!.manifestUri;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('rows are classes, columns the first K images of that class from the right source, real first', async () => {
    const { store: counting, shardReads } = countingStore(store);
    const { sheets, problems } = await buildSampleSheets(counting, sources, { perClass: 3 });
    assert.deepEqual(problems, []);
    assert.deepEqual(sheets.map((s) => s.source), ['real', 'synth-cfg1']);
    assert.deepEqual(sheets.map((s) => s.file), ['samples-real.png', 'samples-synth-cfg1.png']);
    // K = 3 per class needs the first 30 samples: two shards of 20 per source, not all five.
    assert.equal(shardReads.length, 4, shardReads.join(', '));
    const layout = sheetLayout(10, 3, 56);
    for (const sheet of sheets) {
      assert.deepEqual(sheet.classes, CLASSES);
      assert.deepEqual(sheet.shown, CLASSES.map(() => 3));
      const { data, width, height } = await greyPixels(sheet.image.png);
      assert.deepEqual([width, height], [layout.width, layout.height]);
      assert.deepEqual([sheet.image.width, sheet.image.height], [layout.width, layout.height]);
      for (let row = 0; row < 10; row++) {
        for (let column = 0; column < 3; column++) {
          const { left, top } = layout.origin(row, column);
          const at = (x: number, y: number) => data[(top + y) * width + left + x]!;
          // The body shows the source's grey for this class; the marker pixel (0, 0), scaled to 2x2, is the column-th of the class.
          assert.ok(Math.abs(at(30, 30) - (BASES[sheet.source]! + row * 10)) <= 1, `${sheet.source} row ${row} col ${column}: ${at(30, 30)}`);
          assert.ok(Math.abs(at(1, 1) - column * 25) <= 1, `${sheet.source} row ${row} col ${column} is sample ${at(1, 1) / 25} of its class`);
        }
      }
      // Class labels and the title are drawn left of and above the images.
      let ink = 0;
      for (let y = 0; y < height; y++) for (let x = 0; x < layout.origin(0, 0).left - 4; x++) if (data[y * width + x]! < 100) ink++;
      assert.ok(ink > 300, `${sheet.source}: ${ink} dark label pixels`);
    }
  });

  test('reading stops at the sample budget when a class never comes; unreadable sources are reported, not fatal', async () => {
    const sevenClasses = await writeSource(store, 'synth-cfg2', 'synthetic', 100, 6, 20, 7);
    const { store: counting, shardReads } = countingStore(store);
    const { sheets, problems } = await buildSampleSheets(
      counting,
      [
        { ...synthetic('synth-cfg2', 2), manifestUri: sevenClasses },
        { ...synthetic('gone', 3), manifestUri: store.uri('gone/manifest.json') },
      ],
      { perClass: 2, cell: 28, maxSamples: 50 },
    );
    assert.equal(shardReads.length, 3, '3 shards of 20 reach the budget of 50; 3 more are never read');
    assert.deepEqual(sheets[0]!.shown, [2, 2, 2, 2, 2, 2, 2, 0, 0, 0]);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^gone: no sample sheet \(.*does not exist/);
    assert.deepEqual(sheetSources(sources).map((s) => s.name), ['real', 'synth-cfg1']);
  });

  test('the report activity stores report.html, the PNGs and the sheets, and returns their URIs', async (t) => {
    // Six sources x 4 N x 2 seeds on two eval sets, each source with real shards to draw from.
    const all = sweepSources();
    for (const [i, source] of all.entries()) source.manifestUri = await writeSource(store, `act-${source.name}`, source.kind === 'real' ? 'real' : 'synthetic', 10 + i * 20, 2, 100);
    const analysis = sweepAnalysis(all);
    const analysisUri = (await putJson(store, 'analysis/html-sweep.json', { sweepId: 'html-sweep', cells: [], sources: all, analysis })).uri;
    const stats: SweepStats = {
      imagesSampled: 0, shardsCached: 0, activityRetries: 0, itemRetries: 0, storageRetries: 0, failedItems: 0, corruptRegenerated: 0,
      cellsDone: 96, cellsCached: 0, cellsTotal: 96, trainStepsRun: 10, cellActivityRetries: 0, runs: 1,
    };
    const activities = createReportActivities({ store, dataDir: dir });
    const env = new MockActivityEnvironment();
    const started = performance.now();
    const out: RenderReportOutput = await env.run(activities.renderSweepReport, { sweepId: 'html-sweep', workflowId: 'sweep-html-sweep', analysisUri, spec: META.spec, stageSeconds: { train: 10 }, stats });
    const seconds = (performance.now() - started) / 1000;

    const path = (uri: string | undefined) => fileURLToPath(uri!);
    assert.match(out.reportHtmlUri!, /\/report\.html$/);
    assert.equal(path(out.reportHtmlUri).replace(/report\.html$/, 'report.md'), path(out.reportMarkdownUri), 'report.html sits next to report.md');
    const html = await readFile(path(out.reportHtmlUri), 'utf8');
    assertSelfContained(html);
    assert.ok(!html.includes(HOSTILE));
    assert.deepEqual(Object.keys(out.sampleSheetUris!), all.map((s) => s.name));
    for (const uri of [out.plotPngUri, out.recognizabilityPngUri, ...Object.values(out.sampleSheetUris!)]) {
      const meta = await sharp(await readFile(path(uri))).metadata();
      assert.equal(meta.format, 'png', uri);
    }
    // Every sheet is embedded in the page, and linked from the Markdown.
    const markdown = await readFile(path(out.reportMarkdownUri), 'utf8');
    assert.equal((html.match(/<img src="data:image\/png;base64,/g) ?? []).length, all.length);
    for (const source of all) assert.ok(markdown.includes(`(samples-${source.name}.png)`), `report.md links samples-${source.name}.png`);
    const json = JSON.parse(await readFile(path(out.reportJsonUri), 'utf8'));
    assert.equal(json.analysis.curves.length, analysis.curves.length, 'report.json as before');

    const htmlBytes = Buffer.byteLength(html);
    t.diagnostic(`report activity, 6 sources x 4 N x 2 seeds x 2 eval sets + 6 sample sheets: ${seconds.toFixed(2)} s; report.html ${(htmlBytes / 1024).toFixed(0)} KiB`);
    assert.ok(htmlBytes < 4 * 2 ** 20, `report.html is ${htmlBytes} bytes`);
  });
});
