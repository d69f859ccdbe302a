// Shared helpers for the benchmark: timing (warm-up + median), progress lines, child processes,
// and the row format that results.md / results.json are written from.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(BENCH_DIR, '..');

const started = performance.now();

/** Seconds since the bench started. */
export function elapsed(): number {
  return (performance.now() - started) / 1000;
}

export function progress(message: string): void {
  const load = loadavg()[0]!.toFixed(2);
  console.log(`[bench ${elapsed().toFixed(1).padStart(6)}s load ${load}] ${message}`);
}

export function load1(): number {
  return Number(loadavg()[0]!.toFixed(2));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Timed {
  /** Median seconds of the timed repetitions. */
  seconds: number;
  /** Seconds of every timed repetition (warm-up excluded). */
  samples: number[];
}

/**
 * Run `fn` `warmup` times untimed, then `reps` times timed; returns the median. `fn` gets the
 * repetition index (warm-ups are negative) so each run can use fresh keys/seeds.
 */
export async function timeIt(fn: (rep: number) => unknown | Promise<unknown>, opts: { warmup?: number; reps?: number } = {}): Promise<Timed> {
  const warmup = opts.warmup ?? 1;
  const reps = opts.reps ?? 3;
  for (let i = 0; i < warmup; i++) await fn(-1 - i);
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn(i);
    samples.push((performance.now() - t) / 1000);
  }
  return { seconds: median(samples), samples };
}

/** One line of the results table: a measurement, its bound from the same run, and their ratio. */
export interface Row {
  section: string;
  measurement: string;
  value: number;
  unit: string;
  bound: string;
  boundValue: number;
  boundUnit: string;
  /** value / boundValue (what each section's note says it means). */
  ratio: number;
  ratioLabel?: string;
  note: string;
  /** 1-minute load average when the row's measurement finished. */
  load1: number;
  samples?: number[];
  boundSamples?: number[];
  extra?: Record<string, unknown>;
}

export interface ChildResult<T> {
  ok: boolean;
  result?: T;
  error?: string;
  stderrTail: string;
  seconds: number;
}

/**
 * Run `node --import tsx <script> ...args` from the repo root; the child prints one line
 * `RESULT <json>` on stdout. Other output is forwarded (stdout) or kept for errors (stderr).
 */
export function runChild<T>(script: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; echo?: boolean } = {}): Promise<ChildResult<T>> {
  const t0 = performance.now();
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(BENCH_DIR, script), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stdout += text;
      if (opts.echo) {
        for (const line of text.split('\n')) if (line.trim() && !line.startsWith('RESULT ')) console.log(`    | ${line}`);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const seconds = (performance.now() - t0) / 1000;
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) {
        resolvePromise({ ok: true, result: JSON.parse(line.slice('RESULT '.length)) as T, stderrTail: stderr, seconds });
      } else {
        resolvePromise({ ok: false, error: `exit ${code ?? signal}${line ? '' : ' (no RESULT line)'}`, stderrTail: stderr.slice(-1500), seconds });
      }
    });
  });
}

/** Print the child's result line (used by the child scripts). */
export function emitResult(value: unknown): void {
  process.stdout.write(`RESULT ${JSON.stringify(value)}\n`);
}

export function fmt(value: number, digits?: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const d = digits ?? (abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3);
  return value.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}
