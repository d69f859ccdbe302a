// The integration sweep again, with every artifact in a gs:// bucket: a real GCS emulator (PyPI
// gcp-storage-emulator via infra/gcs-emulator.sh), real Temporal dev server and workers whose
// SYNTHSCALE_STORE is gs://it-sweeps/runs. Only the Fashion-MNIST cache stays on local disk.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Storage } from '@google-cloud/storage';
import { getJson, openStore } from '../../core/storage.js';
import { ROOT, freePort, startTestStack, tinySweepSpec, type TestStack, runSweepToEnd } from './stack.js';

const run = promisify(execFile);
const BUCKET = 'it-sweeps';
const STORE = `gs://${BUCKET}/runs`;

let stack: TestStack;
let emulatorEnv: NodeJS.ProcessEnv;


before(
  async () => {
    stack = await startTestStack(7933, { workers: false });
    const port = await freePort();
    emulatorEnv = { ...stack.env, GCS_EMULATOR_PIDFILE: join(stack.home, 'run', 'gcs-emulator.pid') };
    await run('bash', [join(ROOT, 'infra/gcs-emulator.sh'), 'start', join(stack.home, 'gcs'), String(port)], { env: emulatorEnv, cwd: ROOT, timeout: 180_000 });
    const endpoint = `http://127.0.0.1:${port}`;
    await new Storage({ apiEndpoint: endpoint, projectId: 'synthscale-it' }).createBucket(BUCKET);
    // Workers and this process both reach the bucket through the emulator, the library's usual way.
    process.env.STORAGE_EMULATOR_HOST = endpoint;
    await stack.stack('start-workers', { SYNTHSCALE_STORE: STORE, STORAGE_EMULATOR_HOST: endpoint });
    Object.assign(process.env, { TEMPORAL_ADDRESS: stack.env.TEMPORAL_ADDRESS });
  },
  { timeout: 300_000 },
);
after(async () => {
  if (emulatorEnv) await run('bash', [join(ROOT, 'infra/gcs-emulator.sh'), 'stop'], { env: emulatorEnv, timeout: 30_000 }).catch(() => {});
  await stack?.teardown();
});

test('a tiny sweep with its store in a gs:// bucket: shards, models, evaluations and report all live there', { timeout: 600_000 }, async () => {
  const spec = tinySweepSpec('it-gcs');
  const result = await runSweepToEnd(spec);
  assert.equal(result.cells, 4);
  for (const uri of [result.reportUri, result.reportMarkdownUri, result.plotUri]) assert.ok(uri.startsWith(`${STORE}/reports/it-gcs/`), uri);
  // Read back through the store: every object carries its sha256 and is verified on read.
  const store = openStore(STORE);
  const report = await getJson<{ analysis: { sources: { name: string; manifestUri: string }[]; cells: unknown[] } }>(store, store.keyOf(result.reportUri), 64 << 20);
  assert.deepEqual(report.analysis.sources.map((s) => s.name), ['real', 'cfg2']);
  for (const source of report.analysis.sources) assert.ok(source.manifestUri.startsWith(`${STORE}/sources/`), source.manifestUri);
  const keys = await store.list('');
  assert.ok(keys.some((k) => /^sources\/synthetic-[0-9a-f]+\/shard-000000\.tar$/.test(k)), 'generated shards are in the bucket');
  assert.ok(keys.filter((k) => /^cells\/.*\/model\.bin$/.test(k)).length === 4, 'one model per cell in the bucket');
  assert.ok((await store.get(store.keyOf(result.reportMarkdownUri))).byteLength > 1000);
  assert.ok(!existsSync(stack.store), `nothing was written to the local store ${stack.store}`);
});
