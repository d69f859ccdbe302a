// CLI start-up: time to the first byte of output of `synthscale --help`, `spec specs/demo.yaml` and
// `sweep status <a finished sweep>` (when a Temporal server answers), through the prebuilt CLI
// (bin/build-cli.js), beside a bare `node -e` printing one line: what Node itself costs. The same
// commands through tsx (SYNTHSCALE_CLI_BUILD=0, the old path) are in each row's note.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { load1, median, progress, ROOT, type Row } from './lib.js';

const BIN = join(ROOT, 'bin/synthscale.js');
const REPS = 5;

interface Probe {
  /** Seconds until the first byte on stdout (the whole run if it printed nothing). */
  firstOutput: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

function probe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Probe> {
  return new Promise((resolveProbe, reject) => {
    const t0 = performance.now();
    let first: number | undefined;
    let stdout = '';
    let stderr = '';
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => {
      first ??= performance.now();
      if (stdout.length < 65_536) stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 8192) stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolveProbe({ firstOutput: ((first ?? performance.now()) - t0) / 1000, code, stdout, stderr });
    });
  });
}

/** One warm-up, then REPS timed runs; the median and every sample. */
async function timeFirstOutput(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ seconds: number; samples: number[]; last: Probe }> {
  let last = await probe(args, env);
  if (last.code !== 0) throw new Error(`node ${args.join(' ')} exited ${last.code}: ${last.stderr.trim().split('\n').pop()}`);
  const samples: number[] = [];
  for (let i = 0; i < REPS; i++) {
    last = await probe(args, env);
    samples.push(last.firstOutput);
  }
  return { seconds: median(samples), samples, last };
}

/** A finished sweep to ask about, from `sweep list`; or why there is none. */
async function finishedSweep(): Promise<{ id: string } | { skip: string }> {
  const listed = await probe([BIN, 'sweep', 'list', '--limit', '50']);
  if (listed.code !== 0) return { skip: `no Temporal server answered \`sweep list\` (${listed.stderr.trim().split('\n').pop()?.slice(0, 160)})` };
  const row = listed.stdout.split('\n').find((line) => /^\S+\s+\S+\s+COMPLETED\s/.test(line));
  return row ? { id: row.split(/\s+/)[0]! } : { skip: 'the server has no completed sweep (run `synthscale sweep start specs/demo.yaml --wait` first)' };
}

export async function benchCli(): Promise<Row[]> {
  progress('cli: building the prebuilt CLI if stale, then time to first output (median of 5 after a warm-up) vs bare node');
  const node = await timeFirstOutput(['-e', 'console.log(1)']);
  const commands: { label: string; args: string[] }[] = [{ label: '--help', args: ['--help'] }, { label: 'spec specs/demo.yaml', args: ['spec', 'specs/demo.yaml'] }];
  const sweep = await finishedSweep();
  const rows: Row[] = [];
  if ('id' in sweep) commands.push({ label: `sweep status ${sweep.id} (finished)`, args: ['sweep', 'status', sweep.id] });
  for (const { label, args } of commands) {
    const built = await timeFirstOutput([BIN, ...args]);
    const viaTsx = await timeFirstOutput([BIN, ...args], { SYNTHSCALE_CLI_BUILD: '0' });
    progress(`cli: synthscale ${label}: ${(built.seconds * 1000).toFixed(0)} ms prebuilt, ${(viaTsx.seconds * 1000).toFixed(0)} ms through tsx`);
    rows.push({
      section: 'cli',
      measurement: `synthscale ${label}: time to first output, prebuilt CLI`,
      value: built.seconds * 1000,
      unit: 'ms',
      bound: 'node -e "console.log(1)": Node start-up alone',
      boundValue: node.seconds * 1000,
      boundUnit: 'ms',
      ratio: built.seconds / node.seconds,
      note: `through tsx (SYNTHSCALE_CLI_BUILD=0, the path before the prebuilt CLI): ${(viaTsx.seconds * 1000).toFixed(0)} ms; target ${label.startsWith('sweep') ? '0.5' : '0.3'} s on a quiet machine`,
      load1: load1(),
      samples: built.samples.map((s) => s * 1000),
      boundSamples: node.samples.map((s) => s * 1000),
      extra: { tsxMs: viaTsx.samples.map((s) => s * 1000) },
    });
  }
  if ('skip' in sweep) {
    rows.push({
      section: 'cli',
      measurement: 'synthscale sweep status <finished sweep>: time to first output, prebuilt CLI',
      value: Number.NaN,
      unit: 'ms',
      bound: 'node -e "console.log(1)": Node start-up alone',
      boundValue: node.seconds * 1000,
      boundUnit: 'ms',
      ratio: Number.NaN,
      note: `skipped: ${sweep.skip}`,
      load1: load1(),
    });
  }
  return rows;
}
