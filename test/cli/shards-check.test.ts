// `synthscale shards check`: the command object through citty (arguments, the failure after the
// report), its table and JSON on real shard sets, and the real CLI's exit code.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { runCommand } from 'citty';
import { formatBytes, runShardsCheck, shardsCommand } from '../../cli/shards-check.js';
import { PROJECT_ROOT } from '../../cli/code-fingerprint.js';
import { pairShard, rawTar, greyPng, writeShards } from '../core/shards/check-fixtures.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-shards-check-'));
  await writeShards(join(dir, 'good'), { '00000.tar': await pairShard(0, 6), '00001.tar': await pairShard(1, 4) });
  const png = greyPng(1);
  await writeShards(join(dir, 'bad'), {
    '00000.tar': await pairShard(0, 6),
    '00001.tar': await rawTar([{ name: 'k\u001b[2J.png', data: png }]),
    '00003.tar': await rawTar([{ name: 'a.png', data: png }, { name: 'a.json', data: '{}' }]),
  });
});
after(() => rm(dir, { recursive: true, force: true }));

/** Run the command as citty would, with console.log captured. */
async function cli(rawArgs: string[]): Promise<{ lines: string[]; error?: Error & { code?: string } }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (line: string) => void lines.push(line);
  try {
    await runCommand(shardsCommand, { rawArgs });
    return { lines };
  } catch (error) {
    return { lines, error: error as Error };
  } finally {
    console.log = log;
  }
}

test('a good set: a line per shard and the totals; the command succeeds', async () => {
  const { lines, error } = await cli(['check', join(dir, 'good/{00000..00001}.tar'), '--min-samples', '10']);
  assert.equal(error, undefined);
  const [a, b] = [(await stat(join(dir, 'good/00000.tar'))).size, (await stat(join(dir, 'good/00001.tar'))).size];
  assert.deepEqual(lines, [
    `ok      file://${dir}/good/00000.tar  6 samples, ${formatBytes(a)}`,
    `ok      file://${dir}/good/00001.tar  4 samples, ${formatBytes(b)}`,
    `2 shards (img2dataset layout): 10 samples, ${formatBytes(a + b)}; 0 missing, 0 bad`,
  ]);
  assert.equal(formatBytes(19 * 1024), '19.0 KiB');
  assert.equal(formatBytes(3 * 1024 ** 3 + 1), '3.0 GiB');
});

test('a bad set: missing, corrupt and incomplete shards and too few samples, names escaped; the command fails after printing', async () => {
  const { lines, error } = await cli(['check', join(dir, 'bad/{00000..00003}.tar'), '--min-samples', '100']);
  assert.equal(error?.code, 'E_SHARDS_CHECK');
  assert.equal(error?.message, '4 problems in 4 shards (listed above)');
  assert.deepEqual(lines.slice(-5), [
    '4 problems:',
    `  file://${dir}/bad/00001.tar [k\\x1b[2J.png]: entry "k\\x1b[2J.png" refused: key must be 1-128 of [A-Za-z0-9_-], starting with a letter or digit`,
    `  file://${dir}/bad/00002.tar: does not exist (check the shard list and its {00000..00099} ranges)`,
    `  file://${dir}/bad/00003.tar [a]: image without a caption (a.txt)`,
    '  shard set: 6 samples in all (in the shards that could be read), fewer than the 100 required',
  ]);
  assert.ok(lines.every((l) => !/[\u0000-\u001f]/.test(l)), 'no control characters printed');
});

test('--json prints the report; several shard arguments are read in order; bad flags name the fix', async () => {
  const printed: string[] = [];
  const report = await runShardsCheck({ shards: [join(dir, 'good/00001.tar'), join(dir, 'good/00000.tar')], json: true }, (l) => printed.push(l));
  assert.deepEqual(JSON.parse(printed.join('\n')), JSON.parse(JSON.stringify(report)));
  assert.deepEqual(report.shards.map((s) => s.samples), [4, 6]);
  const both = await cli(['check', join(dir, 'good/00001.tar'), join(dir, 'good/00000.tar')]);
  assert.match(both.lines.at(-1)!, /^2 shards .* 10 samples/);
  await assert.rejects(runShardsCheck({ shards: ['x.tar'], minSamples: 'lots' }, () => {}), /--min-samples takes a whole number of samples such as 10000, not "lots"/);
  await assert.rejects(runShardsCheck({ shards: ['x.tar'], layout: 'parquet' }, () => {}), /--layout must be one of auto, img2dataset, webdataset, not "parquet"/);
  await assert.rejects(runShardsCheck({ shards: ['data/{0..99999999}.tar'] }, () => {}), /names 100000000 shards, more than 100000 \(the cap on shards per source\)/);
});

test('the real CLI exits non-zero on a bad set and zero on a good one', { timeout: 120_000 }, async () => {
  const run = promisify(execFile);
  const bin = join(PROJECT_ROOT, 'bin/synthscale.js');
  const env = { ...process.env, SYNTHSCALE_CLI_BUILD: '0' };
  const good = await run('node', [bin, 'shards', 'check', join(dir, 'good/{00000..00001}.tar')], { env });
  assert.match(good.stdout, /2 shards \(img2dataset layout\): 10 samples/);
  await assert.rejects(run('node', [bin, 'shards', 'check', join(dir, 'bad/{00000..00003}.tar')], { env }), (err: { code?: number; stderr?: string }) => {
    assert.equal(err.code, 1);
    assert.match(err.stderr ?? '', /error: 3 problems in 4 shards \(listed above\)/);
    return true;
  });
});
