// Replays histories of real sweeps (test/histories, recorded with infra/record-histories.ts)
// against the current workflow code: a change that breaks determinism fails here. Changes in
// behaviour that running sweeps would notice go behind `patched()`.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { bundlerOptions, WORKFLOWS_PATH } from '../../workers/run-worker.js';

const HISTORIES = fileURLToPath(new URL('./histories', import.meta.url));

test('recorded sweep histories replay against the current workflow code', { timeout: 120_000 }, async () => {
  const files = (await readdir(HISTORIES)).filter((f) => f.endsWith('.json')).sort();
  assert.ok(files.length >= 3, 'histories of a sweep, a data source and a cell are checked in');
  const histories = await Promise.all(
    files.map(async (file) => ({
      workflowId: file.replace(/\.json$/, '').replace(/__run-.*$/, '').replaceAll('__', '/'),
      // The CLI's JSON export; the worker converts it with its own protobuf types (eventId strings mark JSON).
      history: JSON.parse(await readFile(join(HISTORIES, file), 'utf8')) as HistoryAndWorkflowId['history'],
    })),
  );
  const types = new Set<string>();
  let replayed = 0;
  for await (const result of Worker.runReplayHistories({ workflowsPath: WORKFLOWS_PATH, bundlerOptions }, histories)) {
    assert.equal(result.error, undefined, `${result.workflowId}: ${result.error?.message}`);
    types.add(result.workflowId.split('/')[1] ?? 'sweep');
    replayed++;
  }
  assert.equal(replayed, files.length);
  assert.deepEqual([...types].sort(), ['cell', 'source', 'sweep']);
});
