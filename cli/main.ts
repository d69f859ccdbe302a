// synthscale CLI: run the stack, start and rerun sweeps, watch their progress, find their reports.
import { datasetCommand } from './make-dataset.js';
import { defineCommand, runCommand, runMain } from 'citty';
import { SpecError } from '../contracts/spec/sweep.js';
import { codecServer } from './codec-server.js';
import { serveGenerator } from './serve-generator.js';
import { dev, specCommand, worker } from './stack-commands.js';
import { sweep } from './sweep.js';

const main = defineCommand({
  meta: { name: 'synthscale', description: 'Scaling sweeps of synthetic training data on Temporal' },
  subCommands: { dev, sweep, dataset: datasetCommand, worker, spec: specCommand, 'serve-generator': serveGenerator, 'codec-server': codecServer },
});

process.on('unhandledRejection', (err) => {
  console.error(err instanceof SpecError ? err.message : `error: ${(err as Error).message}`);
  process.exit(1);
});

// Help and usage through citty; a failing command prints its message (which names the fix), not a stack.
const rawArgs = process.argv.slice(2);
if (rawArgs.length === 0 || rawArgs.some((a) => a === '--help' || a === '-h' || a === '--version')) {
  await runMain(main);
} else {
  try {
    await runCommand(main, { rawArgs });
  } catch (err) {
    const usage = (err as { name?: string }).name === 'CLIError' ? ' (see `synthscale --help`, and `--help` after any command)' : '';
    console.error(err instanceof SpecError ? err.message : `error: ${(err as Error).message}${usage}`);
    process.exit(1);
  }
}
