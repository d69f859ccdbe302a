// Reading a spec file: devices, FIFOs, directories and oversized files are refused before a byte
// is read (instantly), the text must be UTF-8, and what the file says is positioned and escaped.
// Run: node --import tsx --test test/cli/spec-file.test.ts
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { firstInvalidUtf8, loadSpecFile, MAX_SPEC_BYTES, readSpecFile } from '../../cli/spec-file.js';
import { SpecError } from '../../contracts/spec/sweep.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-spec-file-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The SpecError `load` rejects with, and how long it took. */
async function refusal(load: Promise<unknown>): Promise<{ message: string; ms: number }> {
  const started = performance.now();
  try {
    await load;
  } catch (err) {
    assert.ok(err instanceof SpecError, `expected a SpecError, got ${String(err)}`);
    return { message: err.message, ms: performance.now() - started };
  }
  assert.fail('expected the file to be refused');
}

const VALID = 'sweepId: ok\ndataset: fashion-mnist\nsources: [{ name: real, kind: real }]\nsizes: [100]\nseeds: [0]\n';

test('/dev/urandom is refused at once, as a character device', { skip: !existsSync('/dev/urandom') }, async () => {
  const { message, ms } = await refusal(loadSpecFile('/dev/urandom'));
  assert.equal(message, '/dev/urandom is not a regular file (it is a character device); give the path of a sweep spec (.yaml or .json), e.g. specs/demo.yaml');
  assert.ok(ms < 100, `took ${ms} ms`);
});

test('a FIFO with no writer is refused at once instead of blocking', async () => {
  const fifo = join(dir, 'spec.yaml');
  execFileSync('mkfifo', [fifo]);
  const { message, ms } = await refusal(loadSpecFile(fifo));
  assert.equal(message, `${fifo} is not a regular file (it is a FIFO (named pipe)); give the path of a sweep spec (.yaml or .json), e.g. specs/demo.yaml`);
  assert.ok(ms < 100, `took ${ms} ms`);
  await rm(fifo);
});

test('a directory and a missing file say what is wrong', async () => {
  assert.match((await refusal(loadSpecFile(dir))).message, /is not a regular file \(it is a directory\)/);
  assert.equal((await refusal(loadSpecFile(join(dir, 'nope.yaml')))).message, `${join(dir, 'nope.yaml')}: no such file; give the path of a sweep spec (.yaml or .json), e.g. specs/demo.yaml`);
});

test('a file over the cap is refused by its size, without reading it', async () => {
  const huge = join(dir, 'huge.yaml');
  await writeFile(huge, '');
  await truncate(huge, 3 * 1024 ** 3); // sparse: 3 GiB that take no disk and would take seconds to read
  const { message, ms } = await refusal(loadSpecFile(huge));
  assert.equal(message, `${huge} is 3 GiB (3221225472 bytes); a spec may be at most 1 MiB (a sweep spec is a few KB)`);
  assert.ok(ms < 100, `took ${ms} ms`);
  const justOver = join(dir, 'over.yaml');
  await writeFile(justOver, Buffer.alloc(MAX_SPEC_BYTES + 1, 0x20));
  assert.match((await refusal(loadSpecFile(justOver))).message, /is 1 MiB \(1048577 bytes\); a spec may be at most 1 MiB/);
  await rm(huge);
});

test('the text must be UTF-8: the first bad byte is positioned; a BOM is fine', async () => {
  const latin1 = join(dir, 'latin1.yaml');
  await writeFile(latin1, Buffer.concat([Buffer.from('sweepId: ok\n# caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
  assert.equal((await refusal(loadSpecFile(latin1))).message, `${latin1}:2:6: not UTF-8 text (byte 0xe9 at offset 17); save the spec as UTF-8`);
  const bom = join(dir, 'bom.yaml');
  await writeFile(bom, `\ufeff${VALID}`);
  assert.equal((await loadSpecFile(bom)).sweepId, 'ok');
  assert.equal(firstInvalidUtf8(Buffer.from('héllo ✓ 𝄞')), -1);
  assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xc0, 0x80])), 1, 'overlong');
  assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xed, 0xa0, 0x80])), 1, 'surrogate');
  assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xe2, 0x9c])), 1, 'cut short');
});

test('a spec file with problems reports file:line:col, escaped', async () => {
  const path = join(dir, 'study.yaml');
  await writeFile(path, `${VALID}training: { epocs: 3 }\n"\\e]0;pwned\\a": 1\n`);
  const { message } = await refusal(loadSpecFile(path));
  assert.equal(
    message,
    [
      `${path} is invalid:`,
      `${path}:6:13: training.epocs: unknown key 'epocs'; did you mean 'epochs'?`,
      `${path}:7:1: \\x1b]0;pwned\\x07: unknown key '\\x1b]0;pwned\\x07' (known keys here: sweepId, dataset, image, sources, sizes, seeds, generation, training, tasks, clip, eval, cost, ood, recognizability, seedDraws, analysis, adaptive, maxConcurrentCells, cellsPerRun)`,
    ].join('\n'),
  );
  assert.equal(await readSpecFile(path), `${VALID}training: { epocs: 3 }\n"\\e]0;pwned\\a": 1\n`);
});
