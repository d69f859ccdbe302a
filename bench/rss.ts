// Train worker peak RSS as N grows: real Fashion-MNIST shards written to a temp store by the real
// writeRealShards activity, then one child process per N running the real trainClassifier activity.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { projectDataDir } from '../core/activity-deps.js';
import { createShardActivities, type ManifestOutput } from '../activities/shards/activity.js';
import { openStore } from '../core/storage.js';
import { load1, progress, runChild, type Row } from './lib.js';

const SIZES = [1000, 8000, 30_000, 60_000];
/** A decoded-shard cache smaller than the data: memory must then stay flat however large N is. */
const SMALL_CACHE_MB = 16;
const SMALL_CACHE_SIZES = [8000, 60_000];
const BYTES_PER_IMAGE = 784 + 1; // pixels + label, as a decoded shard holds them

export interface RssResult {
  size: number;
  /** SYNTHSCALE_SHARD_CACHE_MB for the run; undefined = default (256). */
  cacheMb?: number;
  backend: string;
  steps?: number;
  seconds?: number;
  maxRssMb: number;
  rssMb: number;
  heapUsedMb?: number;
  arrayBuffersMb?: number;
  /** At the first training heartbeat, i.e. with the N images loaded. */
  afterLoad?: { maxRssMb: number; rssMb: number; arrayBuffersMb: number } | null;
}

export async function benchRss(backend: string): Promise<{ rows: Row[]; info: Record<string, unknown> }> {
  const home = await mkdtemp(join(tmpdir(), 'synthscale-bench-rss-'));
  const info: Record<string, unknown> = { backend };
  try {
    const storeDir = join(home, 'store');
    const store = openStore(storeDir);
    const max = Math.max(...SIZES);
    progress(`train RSS: writeRealShards activity, ${max} real images into ${max / 1000} shards of 1000 (temp store)`);
    let t = performance.now();
    const shards = createShardActivities({ store, dataDir: projectDataDir() });
    const written = (await new MockActivityEnvironment({ attempt: 1 }).run(shards.writeRealShards, {
      source: 'real',
      count: max,
      shardSize: 1000,
      seed: 0,
      datasetFingerprint: 'bench',
    })) as ManifestOutput;
    info.writeRealShards = { seconds: (performance.now() - t) / 1000, imgPerSec: max / ((performance.now() - t) / 1000) };

    const results: RssResult[] = [];
    const runs: [string, number | undefined][] = [
      ['baseline', undefined],
      ...SIZES.map((n): [string, undefined] => [String(n), undefined]),
      ...SMALL_CACHE_SIZES.map((n): [string, number] => [String(n), SMALL_CACHE_MB]),
    ];
    for (const [size, cacheMb] of runs) {
      const what = size === 'baseline' ? 'baseline (modules + backend + manifest, no data)' : `N=${size}, 1 epoch via the trainClassifier activity`;
      progress(`train RSS: child process, ${what}${cacheMb === undefined ? '' : `, shard cache ${cacheMb} MB`}`);
      t = performance.now();
      const env = cacheMb === undefined ? {} : { SYNTHSCALE_SHARD_CACHE_MB: String(cacheMb) };
      const child = await runChild<RssResult>('rss-child.ts', [storeDir, written.manifestUri, size, backend], { timeoutMs: 240_000, env });
      if (!child.ok || !child.result) throw new Error(`rss child ${size} failed: ${child.error}\n${child.stderrTail}`);
      results.push({ ...child.result, cacheMb, seconds: child.result.seconds ?? child.seconds });
      progress(`train RSS: N=${size}: peak RSS ${child.result.maxRssMb.toFixed(0)} MB (${child.seconds.toFixed(1)} s process)`);
    }
    const base = results[0]!;
    const defaults = results.filter((r, i) => i > 0 && r.cacheMb === undefined);
    const first = defaults[0]!;
    const last = defaults[defaults.length - 1]!;
    const perImage = ((last.maxRssMb - first.maxRssMb) * 2 ** 20) / (last.size - first.size);
    info.results = results;
    info.bytesPerImageAbove1k = perImage;
    if (first.afterLoad && last.afterLoad) {
      info.arrayBufferBytesPerImageAfterLoad = ((last.afterLoad.arrayBuffersMb - first.afterLoad.arrayBuffersMb) * 2 ** 20) / (last.size - first.size);
    }
    const rows: Row[] = results.slice(1).map((r) => ({
      section: 'train-rss',
      measurement:
        `train worker peak RSS, N=${r.size.toLocaleString('en-US')} (trainClassifier activity, 1 epoch = ${r.steps} steps, ${r.backend}, ` +
        `decoded-shard cache ${r.cacheMb === undefined ? 'default 256 MB' : `${r.cacheMb} MB`})`,
      value: r.maxRssMb,
      unit: 'MB',
      bound: 'flat: the same worker with no data loaded (modules + backend + manifest)',
      boundValue: base.maxRssMb,
      boundUnit: 'MB',
      ratio: r.maxRssMb / base.maxRssMb,
      note:
        `+${(r.maxRssMb - base.maxRssMb).toFixed(0)} MB over baseline; raw data ${((r.size * BYTES_PER_IMAGE) / 2 ** 20).toFixed(1)} MB; ` +
        (r.afterLoad
          ? `with the data loaded (first heartbeat): RSS ${r.afterLoad.rssMb.toFixed(0)} MB, array buffers ${r.afterLoad.arrayBuffersMb.toFixed(0)} MB; `
          : '') +
        `at exit: heap ${r.heapUsedMb?.toFixed(0)} MB, array buffers ${r.arrayBuffersMb?.toFixed(0)} MB; activity ${r.seconds?.toFixed(1)} s; one child run per row`,
      load1: load1(),
    }));
    return { rows, info };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
