// The report's "Generator types" section on the paper spec's sweep (both embedded families).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { reportDocument } from '../../../activities/report/render.js';
import { toMarkdown } from '../../../activities/report/document.js';
import { paperFixture, type PaperFixture } from './paper-fixture.js';

let f: PaperFixture;
before(async () => void (f = await paperFixture()));

const section = (markdown: string, title: string) => {
  const start = markdown.indexOf(`## ${title}`);
  return start < 0 ? '' : markdown.slice(start, markdown.indexOf('\n## ', start + 4));
};

test('the paper spec compares its generator families: one row per synthetic source, matched pairs, and what it cannot say', () => {
  const markdown = toMarkdown(reportDocument(f.analysis, f.meta, { imageDigests: f.imageDigests }));
  const types = section(markdown, 'Generator types');
  assert.match(types, /the type of text-to-image model: Gaussian mixture .*; neural denoiser/);
  const rows = types.split('\n').filter((l) => /^\| (gaussian-mixture|neural-denoiser) \|/.test(l));
  // Sources with the same images (the weak generator ignores its prompts) are shown once, as everywhere in the report.
  const distinctImages = new Set(f.spec.sources.filter((s) => s.kind === 'synthetic').map((s) => f.imageDigests[s.name])).size;
  assert.equal(rows.length, distinctImages, 'every synthetic source with images of its own, once');
  assert.equal(rows.filter((r) => r.startsWith('| neural-denoiser')).length, 3);
  assert.ok(rows.find((r) => r.includes('neural-classnames-cfg2'))!.includes('neural-small: embedded-denoiser'), 'named by its preset');
  // classnames-cfg2 and neural-classnames-cfg2 share prompts and CFG: compared side by side with an interval.
  assert.match(types, /classnames-cfg2 vs neural-classnames-cfg2 \(same prompts and CFG\): accuracy at N=8000 differs by -?\d\.\d+ ± \d\.\d+; slope ratios \d\.\d+ \[/);
  assert.match(types, /What it cannot say: how Stable Diffusion, Imagen and Muse compare/);
});

test('a sweep of one generator family has no generator-type section', () => {
  const spec = { ...f.spec, sources: f.spec.sources.filter((s) => !('generator' in s && (s.generator as { name?: string } | undefined)?.name === 'embedded-denoiser')) };
  const markdown = toMarkdown(reportDocument(f.analysis, { ...f.meta, spec }, { imageDigests: f.imageDigests }));
  assert.equal(section(markdown, 'Generator types'), '');
});
