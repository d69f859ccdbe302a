// Shared by the cluster tests (cluster.test.ts, cluster-faults.test.ts): the skip rule, one
// cluster (infra/cluster.sh) per test file brought up in `before` and down in `after`, and the
// ledger and process helpers the tests check the sweep with. Needs root. Ports: frontend 17233, the
// other services 17234-17241, PostgreSQL 15432, the GCS emulator 10.231.0.1:9323.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readLedger, type LedgerEntry } from '../../core/work-ledger.js';
import type { SweepResult } from '../../contracts/sweep.js';
import { ROOT } from './stack.js';

const run = promisify(execFile);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Why this machine cannot run the cluster, or null when it can. */
function unavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, PostgreSQL as its own user)';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  } catch {
    return '`ip netns` is unavailable (iproute2 missing or no network namespaces)';
  }
  return null;
}
export const reason = unavailable();
// In CI the cluster tests must run: a missing prerequisite fails them instead of skipping them.
export const skip = reason && process.env.CI !== 'true' ? reason : false;

let home = '';
let env: NodeJS.ProcessEnv = {};
/** What each step took, printed by the tests at their end. */
export const timings: string[] = [];

/** The cluster's home (its run/ dir holds the pid files and logs); '' before setUpCluster. */
export const clusterHome = () => home;

/** The environment the cluster runs with (and the client's variables from `cluster.sh env`). */
export const clusterEnv = () => env;

export async function cluster(...args: string[]): Promise<{ output: string; seconds: number }> {
  const t0 = Date.now();
  const { stdout, stderr } = await run('bash', [join(ROOT, 'infra/cluster.sh'), ...args], { env, cwd: ROOT, maxBuffer: 16 << 20, timeout: 900_000 });
  return { output: stdout + stderr, seconds: (Date.now() - t0) / 1000 };
}

/** `before`: build (cached), up, two worker hosts (host 1 cpu + generate, host 2 train); this process becomes a client on the link. */
export async function setUpCluster(): Promise<void> {
  if (reason) return;
  home = await mkdtemp(join(tmpdir(), 'synthscale-cluster-'));
  await chmod(home, 0o755); // PostgreSQL's own user keeps its data dir below this
  env = {
    ...process.env,
    SYNTHSCALE_CLUSTER_HOME: home,
    SYNTHSCALE_DATA: join(home, 'data'),
    SYNTHSCALE_WORK_LEDGER: join(home, 'ledger'),
    SYNTHSCALE_CLUSTER_HOST_QUEUES: 'cpu,generate train',
  };
  const build = await cluster('build');
  timings.push(`build ${/cache hit/.test(build.output) ? 'cache hit' : 'from scratch'} ${build.seconds.toFixed(1)} s`);
  const up = await cluster('up');
  timings.push(`cluster up ${up.seconds.toFixed(1)} s`);
  const hosts = await cluster('hosts', 'up', '2');
  timings.push(`2 worker hosts up ${hosts.seconds.toFixed(1)} s`);
  // This process is the client: it reaches the frontend and the store over the link like the hosts.
  const clientEnv = Object.fromEntries((await cluster('env')).output.trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2)));
  Object.assign(process.env, clientEnv);
  Object.assign(env, clientEnv);
  console.log(`cluster: ${(await cluster('status')).output.trim().replace(/\n/g, '; ')}`);
}

/** `after`: down, and the home removed (SYNTHSCALE_KEEP_TEST_HOME leaves it all up). */
export async function tearDownCluster(): Promise<void> {
  if (!home) return;
  if (process.env.SYNTHSCALE_KEEP_TEST_HOME) return void console.log(`cluster left up in ${home}`);
  await cluster('down').catch((err) => console.log(`cluster down failed: ${String(err)}`));
  await rm(home, { recursive: true, force: true });
}

export function ledger(): LedgerEntry[] {
  const dir = join(home, 'ledger');
  return existsSync(dir) ? readLedger(dir) : [];
}

export async function pidOf(name: string): Promise<number> {
  return Number((await readFile(join(home, 'run', `${name}.pid`), 'utf8')).trim());
}

export const netns = (pid: number | 'self') => readlinkSync(`/proc/${pid}/ns/net`);

/** The result, riding out the seconds when the frontend answers but history is away. */
export async function resultOf(handle: { result(): Promise<unknown> }): Promise<SweepResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await handle.result()) as SweepResult;
    } catch (err) {
      const name = (err as Error).name;
      if (attempt >= 30 || name === 'WorkflowFailedError') throw err;
      await sleep(2000);
    }
  }
}
