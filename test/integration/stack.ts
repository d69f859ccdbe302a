// Test harness: a dedicated Temporal dev server and real worker processes (via infra/stack.sh),
// isolated in a temp dir and on their own ports so they never touch a developer's stack.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { connectClient, startSweep } from '../../cli/client.js';
import { validateSpec, type SweepSpec, type SweepSpecInput } from '../../contracts/spec/sweep.js';
import type { SweepResult } from '../../contracts/sweep.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface TestStack {
  home: string;
  env: NodeJS.ProcessEnv;
  store: string;
  /** Where the workers record the work they do (see core/work-ledger.ts). */
  ledger: string;
  /** Run an infra/stack.sh command; `extraEnv` reaches the processes it starts. */
  stack(command: string, extraEnv?: NodeJS.ProcessEnv): Promise<string>;
  /** kill -9 one worker process; returns its pid. */
  killWorker(queue: 'cpu' | 'generate' | 'train'): Promise<number>;
  teardown(): Promise<void>;
}

export async function startTestStack(port: number, opts: { workers?: boolean } = {}): Promise<TestStack> {
  const home = await mkdtemp(join(tmpdir(), 'synthscale-it-'));
  const store = join(home, 'store');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SYNTHSCALE_HOME: home,
    SYNTHSCALE_DATA: join(home, 'data'),
    SYNTHSCALE_STORE: store,
    SYNTHSCALE_WORK_LEDGER: join(home, 'ledger'),
    SYNTHSCALE_TEMPORAL_PORT: String(port),
    SYNTHSCALE_UI_PORT: String(port + 1000),
    TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
    TEMPORAL_NAMESPACE: 'default',
  };
  // Reuse the project's CLI install rather than reinstalling it into the temp home.
  env.TEMPORAL_CLI = (await run('bash', [join(ROOT, 'infra/stack.sh'), 'ensure-cli'], { cwd: ROOT })).stdout.trim();
  const stack = async (command: string, extraEnv: NodeJS.ProcessEnv = {}) => {
    const { stdout, stderr } = await run('bash', [join(ROOT, 'infra/stack.sh'), command], {
      env: { ...env, ...extraEnv },
      cwd: ROOT,
      maxBuffer: 16 << 20,
    });
    return stdout + stderr;
  };
  await stack(opts.workers === false ? 'start-server' : 'up');
  return {
    home,
    env,
    store,
    ledger: join(home, 'ledger'),
    stack,
    async killWorker(queue) {
      const pid = Number((await readFile(join(home, 'run', `worker-${queue}.pid`), 'utf8')).trim());
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
      return pid;
    },
    async teardown() {
      await stack('down').catch(() => undefined);
      if (!process.env.SYNTHSCALE_KEEP_TEST_HOME) await rm(home, { recursive: true, force: true });
    },
  };
}

/** Running, not a zombie waiting for PID 1 to reap it (which takes seconds on some machines). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ...": the state letter follows the command's closing parenthesis.
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A TCP port free on loopback right now (for a server a test starts itself). */
export function freePort(): Promise<number> {
  return new Promise((resolveDone, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolveDone(port));
    });
    server.on('error', reject);
  });
}

/** Start a sweep through the client (TEMPORAL_ADDRESS from the environment) and wait for its result. */
export async function runSweepToEnd(spec: SweepSpec): Promise<SweepResult> {
  const { client, close } = await connectClient();
  try {
    return (await (await startSweep(client, spec)).result()) as SweepResult;
  } finally {
    await close();
  }
}

/** The embedded generator at its smallest: a shard in seconds. */
export const TINY_GENERATOR = { name: 'embedded-gmm', pcaDims: 16, componentsPerClass: 3, steps: 10 } as const;

/** The 9-cell sweep's sources (test/integration/sweep.test.ts; cluster.test.ts runs it too, to compare times). */
export const NINE_CELL_SOURCES: SweepSpecInput['sources'] = [
  { name: 'real', kind: 'real' },
  { name: 'cfg1-5', kind: 'synthetic', prompts: { strategy: 'classnames' }, cfgScale: 1.5, generator: TINY_GENERATOR },
  { name: 'cfg7-5', kind: 'synthetic', prompts: { strategy: 'clip-templates' }, cfgScale: 7.5, generator: TINY_GENERATOR },
];

/** A real and a synthetic source at N = 100, 200: a sweep an integration test runs in tens of seconds. `overrides` replace whole fields. */
export function tinySweepSpec(sweepId: string, overrides: Partial<SweepSpecInput> = {}): SweepSpec {
  return validateSpec({
    sweepId,
    dataset: 'fashion-mnist',
    sources: [
      { name: 'real', kind: 'real' },
      { name: 'cfg2', kind: 'synthetic', prompts: { strategy: 'classnames' }, cfgScale: 2, generator: TINY_GENERATOR },
    ],
    sizes: [100, 200],
    seeds: [0],
    generation: { shardSize: 150, seed: 0, maxConcurrentShards: 2 },
    training: { hidden: [32], epochs: 3, minSteps: 20, batchSize: 32, checkpointEvery: 10 },
    eval: [{ name: 'fmnist-test', split: 'test' }],
    maxConcurrentCells: 2,
    ...overrides,
  });
}

/** CI=true: checks that need a tool must run there (a missing tool fails them instead of skipping). */
export const IN_CI = /^(1|true|yes)$/i.test(process.env.CI ?? '');

/** The headless Chromium that infra/browser.sh provides, or why there is none (with the fix). */
export async function findChromium(): Promise<{ path: string } | { missing: string }> {
  try {
    const { stdout } = await promisify(execFile)('bash', [join(ROOT, 'infra/browser.sh'), 'path'], { cwd: ROOT });
    return { path: stdout.trim() };
  } catch (err) {
    const why = String((err as { stderr?: string }).stderr || (err as Error).message).trim().replace(/^\[browser\] /gm, '').replace(/\n+/g, '; ');
    return { missing: `no headless Chromium for the browser checks: ${why}${why.includes('Fix:') ? '' : '. Fix: bash infra/browser.sh ensure (as root; it uses apt-get)'}` };
  }
}
