// Spec errors that help: "did you mean" for misspelt keys and values, sources named by name,
// file:line:col for every issue of a spec read from text, escaped file content, clear messages for
// deep nesting, and caps on seeds, sizes, sources and cells.
// Run: node --import tsx --test test/contracts/spec/spec-errors.test.ts
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { totalCells } from '../../../contracts/grid.js';
import { parseSpecText, SPEC_LIMITS, SpecError, validateSpec } from '../../../contracts/spec/sweep.js';
import { closestOf } from '../../../contracts/spec/issues.js';
import { printable } from '../../../core/text/printable.js';

const minimal = { sweepId: 'ok-sweep', dataset: 'fashion-mnist', sources: [{ name: 'real', kind: 'real' }], sizes: [100, 200], seeds: [0] };

function errorOf(run: () => unknown): SpecError {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof SpecError, `expected a SpecError, got ${String(err)}`);
    assert.equal(err.code, 'E_INVALID_SPEC');
    return err;
  }
  assert.fail('expected a SpecError');
}

const yamlError = (text: string, origin = 'study.yaml') => errorOf(() => parseSpecText(text, origin));
const objectError = (raw: unknown) => errorOf(() => validateSpec(raw));

const MULTI_LINE = `sweepId: cfg-study
dataset: fashion-mnist
sources:
  - { name: real, kind: real }
  - name: syn-cfg2
    kind: synthetic
    prompts: { strategy: classnames }
    cfgscale: 2
  - name: syn-cfg3
    kind: synthetic
    prompts: { strategy: classnames }
    cfgScale: 99
sizes: [100, 5]
seeds: [0]
training:
  model: resnett
  epocs: 3
`;

test('a misspelt key at any depth suggests the known key, and the missing one is not reported twice', () => {
  const err = yamlError(MULTI_LINE);
  const lines = err.message.split('\n');
  assert.equal(lines[0], 'study.yaml is invalid:');
  assert.ok(lines.includes("study.yaml:8:5: sources[syn-cfg2].cfgscale: unknown key 'cfgscale'; did you mean 'cfgScale'?"), err.message);
  assert.ok(lines.includes("study.yaml:17:3: training.epocs: unknown key 'epocs'; did you mean 'epochs'?"), err.message);
  assert.ok(!err.issues.some((i) => i.path === 'sources[syn-cfg2].cfgScale'), 'the misspelt key is the one problem');
  assert.equal(err.issues.find((i) => i.path === 'sources[syn-cfg2].cfgscale')?.suggestion, 'cfgScale');
  // Root and nested generator keys, case and one-letter slips.
  assert.match(objectError({ ...minimal, seed: [0] }).message, / {2}seed: unknown key 'seed'; did you mean 'seeds'\?/);
  const gen = objectError({ ...minimal, sources: [{ name: 'syn', kind: 'synthetic', generator: { name: 'embedded-gmm', pcadims: 8 }, prompts: { strategy: 'classnames' }, cfgScale: 2 }] });
  assert.match(gen.message, /sources\[syn\]\.generator\.pcadims: unknown key 'pcadims'; did you mean 'pcaDims'\?/);
});

test('a key far from every known one gets the list of known keys instead of a guess', () => {
  const err = objectError({ ...minimal, sources: [{ name: 'real', kind: 'real', colour: 'red' }] });
  assert.deepEqual(
    err.issues.map((i) => [i.path, i.message]),
    [['sources[real].colour', "unknown key 'colour' (known keys here: name, kind)"]],
  );
  assert.equal(closestOf('haiku', ['classnames', 'captions']), undefined);
  assert.equal(closestOf('reel', ['real', 'mixed']), 'real');
});

test('misspelt values of a fixed set get a suggestion too', () => {
  const err = yamlError(MULTI_LINE);
  assert.ok(err.message.includes(`study.yaml:16:10: training.model: Invalid option: expected one of "mlp"|"cnn"|"resnet"; did you mean 'resnet'?`), err.message);
  assert.match(objectError({ ...minimal, dataset: 'fashion-mnst' }).message, / {2}dataset: Invalid input: expected "fashion-mnist"; did you mean 'fashion-mnist'\?/);
  assert.match(objectError({ ...minimal, sources: [{ name: 'real', kind: 'reel' }] }).message, /sources\[real\]\.kind: .*did you mean 'real'\?/);
  assert.match(objectError({ ...minimal, image: { size: 32, channels: 4 } }).message, / {2}image\.channels: Invalid option: expected one of 1\|3$/m);
});

test('sources and eval sets are named by name; unnamed or duplicate entries by index', () => {
  const err = yamlError(MULTI_LINE);
  assert.ok(err.message.includes('study.yaml:12:15: sources[syn-cfg3].cfgScale: Too big: expected number to be <=50'), err.message);
  assert.ok(err.message.includes('study.yaml:13:14: sizes.1: Too small: expected number to be >=10'), err.message);
  const evalErr = objectError({ ...minimal, eval: [{ name: 'test' }, { name: 'val', split: 'val' }] });
  assert.deepEqual(evalErr.issues.map((i) => i.path), ['eval[val].split']);
  const duplicate = objectError({ ...minimal, sources: [{ name: 'a', kind: 'real' }, { name: 'a', kind: 'real', extra: 1 }] });
  assert.ok(duplicate.issues.some((i) => i.path === 'sources.1.extra'), JSON.stringify(duplicate.issues));
});

test('every issue of a spec from text has a line and column: the value, the key, or the object missing a key', () => {
  const err = yamlError(MULTI_LINE);
  for (const issue of err.issues) assert.ok(issue.line! >= 1 && issue.column! >= 1, JSON.stringify(issue));
  const missing = yamlError('sweepId: s\ndataset: fashion-mnist\nsources:\n  - name: syn\n    kind: synthetic\n    prompts: { strategy: classnames }\nsizes: [100]\nseeds: [0]\n');
  assert.deepEqual(missing.issues.map((i) => [i.path, i.line, i.column]), [['sources[syn].cfgScale', 4, 5]]);
  const json = errorOf(() => parseSpecText('{\n  "sweepId": "s", "dataset": "fashion-mnist",\n  "sources": [{ "name": "real", "kind": "real", "nam": 1 }],\n  "sizes": [100], "seeds": [-1]\n}', 'study.json'));
  assert.deepEqual(json.issues.map((i) => [i.path, i.line, i.column]), [['sources[real].nam', 3, 49], ['seeds.0', 4, 29]]);
  assert.match(json.message, /^study\.json:3:49: sources\[real\]\.nam: unknown key 'nam'; did you mean 'name'\?$/m);
  // An alias resolves to where its anchor sits.
  const aliased = yamlError('sweepId: s\ndataset: fashion-mnist\nrecipe: &r { epochs: 0 }\nsources: [{ name: real, kind: real }]\nsizes: [100]\nseeds: [0]\ntraining: *r\n');
  assert.ok(aliased.issues.some((i) => i.path === 'training.epochs' && i.line === 3 && i.column === 22), JSON.stringify(aliased.issues));
});

test('YAML and JSON syntax errors are positioned, with the escaped source line', () => {
  const err = yamlError('sweepId: [unclosed', 'bad.yaml');
  assert.equal(err.message, 'bad.yaml is not valid YAML:\nbad.yaml:1:19: Flow sequence in block collection must be sufficiently indented and end with a ]\n  sweepId: [unclosed\n                    ^');
  const json = errorOf(() => parseSpecText('{"sweepId": "x",\n "dataset": 1', 'bad.json'));
  assert.match(json.message, /^bad\.json:2:14: Expected ',' or '}' after property value$/m);
  assert.match(yamlError('sweepId: a\n---\nsweepId: b\n').message, /:2:1: a spec is one YAML document/);
});

test('control characters from the file are escaped in parser and validation messages', () => {
  const syntax = yamlError('sweepId: x\n\x1b[31mred: 1: 2\n');
  assert.equal(syntax.message, 'study.yaml is not valid YAML:\nstudy.yaml:2:11: Nested mappings are not allowed in compact mappings\n  \\x1b[31mred: 1: 2\n               ^', 'the caret sits under the 1 of the escaped line');
  const key = yamlError('sweepId: x\ndataset: fashion-mnist\nsources: [{ name: real, kind: real }]\nsizes: [100]\nseeds: [0]\n"\\e[2J\\u202egnp.exe": 1\n');
  assert.ok(key.message.includes("study.yaml:6:1: \\x1b[2J\\u202egnp.exe: unknown key '\\x1b[2J\\u202egnp.exe'"), key.message);
  assert.ok(!key.message.includes('\x1b') && !key.message.includes('\u202e'));
  const value = objectError({ ...minimal, sources: [{ name: 'real', kind: 'real' }, { name: 's', kind: 'synthetic', prompts: { strategy: 'real-captions', source: 'real' }, cfgScale: 2 }], sweepId: 'x' });
  assert.ok(!/[\x00-\x1f]/.test(value.message.replace(/\n/g, '')));
  assert.equal(printable('a\x1bb\u009bc\u202ed\ud800e\tf\ng\u{e0001}'), 'a\\x1bb\\x9bc\\u202ed\\ud800e\\tf\\ng\\u{e0001}');
  assert.equal(printable('x'.repeat(10), 4), 'xxxx…');
});

test('nesting deeper than 64 levels is a clear message, fast, for flow and block YAML and for JSON', () => {
  const flow = `sweepId: x\ndataset: ${'['.repeat(900)}${']'.repeat(900)}\n`;
  let started = performance.now();
  const err = yamlError(flow);
  assert.ok(performance.now() - started < 1000);
  assert.match(err.message, /^study\.yaml:2:74: nested deeper than 64 levels at line 2; a sweep spec is a few levels deep$/m);
  const block = `sweepId: x\n${Array.from({ length: 900 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')} 1\n`;
  assert.match(yamlError(block).message, /study\.yaml:66:65: nested deeper than 64 levels at line 66/);
  const seqs = `sweepId: x\n${Array.from({ length: 900 }, (_, i) => `${' '.repeat(2 * i)}-`).join('\n')} 1\n`;
  assert.match(yamlError(seqs).message, /nested deeper than 64 levels at line 66/);
  assert.match(errorOf(() => parseSpecText(`{"a": ${'{"b": '.repeat(900)}1${'}'.repeat(901)}`, 'deep.json')).message, /deep\.json:1:\d+: nested deeper than 64 levels at line 1/);
  // A megabyte of brackets (the most a spec file may hold) is refused at once, not after seconds of parsing.
  started = performance.now();
  assert.match(yamlError('['.repeat(1024 * 1024)).message, /nested deeper than 64 levels/);
  assert.ok(performance.now() - started < 500, `took ${performance.now() - started} ms`);
  // 60 levels is fine as far as nesting goes (the schema then rejects the extra key).
  const ok = yamlError(`sweepId: x\nnotes: ${'['.repeat(60)}${']'.repeat(60)}\n`);
  assert.ok(!ok.message.includes('nested'));
});

test('seeds, sizes, sources and cells are capped, naming the count, the cap and the fix', () => {
  const seeds = Array.from({ length: 100_000 }, (_, i) => i);
  const text = `sweepId: x\ndataset: fashion-mnist\nsources: [{ name: real, kind: real }]\nsizes: [100]\nseeds: [${seeds.join(', ')}]\n`;
  const started = performance.now();
  const err = yamlError(text);
  const tookMs = performance.now() - started;
  assert.equal(
    err.message,
    'study.yaml is invalid:\nstudy.yaml:5:8: seeds: seeds has 100000 entries; at most 64 fit one sweep: a handful of seeds gives the error bars; split the study into several sweeps (each its own sweepId)',
  );
  assert.ok(tookMs < 10_000, `took ${tookMs} ms`);
  assert.match(objectError({ ...minimal, sizes: Array.from({ length: 65 }, (_, i) => 10 + i) }).message, /sizes: sizes has 65 entries; at most 64/);
  assert.match(objectError({ ...minimal, sources: Array.from({ length: 300 }, (_, i) => ({ name: `r${i}`, kind: 'real' })) }).message, /sources: sources has 300 entries; at most 256/);
  const grid = {
    ...minimal,
    sources: Array.from({ length: 40 }, (_, i) => ({ name: `r${i}`, kind: 'real' })),
    sizes: Array.from({ length: 30 }, (_, i) => 100 + i),
    seeds: Array.from({ length: 20 }, (_, i) => i),
  };
  assert.match(objectError(grid).message, / {2}\(root\): the grid has 24000 cells \(40 sources x tasks x 30 sizes x 20 seeds\); at most 20000 fit one sweep: split the study into several sweeps/);
});

test("the paper's spec is well inside the caps", async () => {
  const path = fileURLToPath(new URL('../../../specs/paper.yaml', import.meta.url));
  const spec = parseSpecText(await readFile(path, 'utf8'), path);
  assert.equal(totalCells(spec), spec.sources.length * spec.sizes.length * spec.seeds.length);
  // Tenfold headroom on every cap.
  assert.ok(totalCells(spec) * 10 <= SPEC_LIMITS.cells && spec.seeds.length * 10 <= SPEC_LIMITS.seeds && spec.sizes.length * 10 <= SPEC_LIMITS.sizes);
  assert.ok(spec.sources.length * 5 <= SPEC_LIMITS.sources);
});

test('a flood of bad values prints 20 and counts the rest; aliases cannot explode', () => {
  const err = objectError({ ...minimal, sizes: Array.from({ length: 60 }, () => 'x') });
  const lines = err.message.split('\n');
  assert.equal(lines.length, 1 + 20 + 1);
  assert.equal(lines.at(-1), '  ... and 40 more problems');
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n');
  assert.match(yamlError(bomb).message, /not a usable YAML spec:\nstudy\.yaml:1:1: .*alias/i);
});

test('inside a union the branch the input meant is reported; missing keys say what the field is', () => {
  const roots = objectError({ ...minimal, dataset: { kind: 'imagefolder', roots: '/data' } });
  assert.deepEqual(roots.issues.map((i) => [i.path, i.message]), [['dataset.roots', "unknown key 'roots'; did you mean 'root'?"]]);
  assert.match(objectError({ ...minimal, training: { resnet: { widht: 8 } } }).message, /training\.resnet\.widht: unknown key 'widht'; did you mean 'width'\?/);
  const { dataset: _, ...noDataset } = minimal;
  assert.match(objectError(noDataset).message, /^ {2}dataset: missing: the dataset whose classes the sweep studies/m);
  const { sweepId: __, ...noId } = minimal;
  assert.match(objectError(noId).message, /^ {2}sweepId: missing \(expected string\)$/m);
  assert.equal(yamlError('# only a comment\n').message, 'study.yaml is invalid:\nstudy.yaml:1:1: (root): the spec is empty: a spec is a mapping with sweepId, dataset, sources, sizes and seeds (see specs/demo.yaml)');
  assert.match(yamlError('- a\n- b\n').message, /\(root\): the spec is a list: a spec is a mapping/);
});

test('a list far over its cap is reported quickly by its cap; many bad entries are counted past 200', () => {
  const sources = Array.from({ length: 30_000 }, (_, i) => ({ name: `s${i}`, kind: 'real', extra: i }));
  const started = performance.now();
  const over = objectError({ ...minimal, sources });
  assert.ok(performance.now() - started < 2000, `took ${performance.now() - started} ms`);
  assert.equal(over.message, 'spec is invalid:\n  sources: sources has 30000 entries; at most 256 fit one sweep: split the study into several sweeps (each its own sweepId)');
  const bad = objectError({ ...minimal, sources: sources.slice(0, 250) });
  const lines = bad.message.split('\n');
  assert.equal(lines[1], "  sources[s0].extra: unknown key 'extra' (known keys here: name, kind)");
  assert.equal(lines.at(-1), '  ... and 230 more problems');
  assert.equal(bad.issues.length, 200);
  assert.equal(bad.omitted, 50);
});
