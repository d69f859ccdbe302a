// synthscale CLI: run the stack, start and rerun sweeps, watch their progress, find their reports.
// Every command's module is imported only when that command runs (`--help` loads none of them),
// so a command pays only for what it uses: `spec` never loads the Temporal client.
import { defineCommand, runCommand, runMain, type CommandDef, type CommandMeta } from 'citty';

type AnyCommand = CommandDef<any>;

/**
 * A command whose module loads on first use. Its name and description are here, so the top-level
 * usage lists every command without importing any; args, subcommands and run come from the module.
 */
function lazy(meta: CommandMeta, load: () => Promise<AnyCommand>): AnyCommand {
  let loaded: Promise<AnyCommand> | undefined;
  const real = () => (loaded ??= load());
  const resolved = async <T>(value: T | (() => T | Promise<T>) | Promise<T>): Promise<T> =>
    typeof value === 'function' ? await (value as () => T | Promise<T>)() : await value;
  return {
    meta,
    args: async () => resolved((await real()).args ?? {}),
    subCommands: async () => resolved((await real()).subCommands ?? {}),
    async setup(ctx) {
      await (await real()).setup?.(ctx);
    },
    async run(ctx) {
      const cmd = await real();
      if (cmd.run) return cmd.run(ctx);
      // A group (e.g. `sweep`): citty ran the named subcommand already; none named is a usage error.
      if (!ctx.rawArgs.some((a) => !a.startsWith('-'))) throw Object.assign(new Error('No command specified.'), { name: 'CLIError' });
    },
    async cleanup(ctx) {
      await (await real()).cleanup?.(ctx);
    },
  };
}

const main = defineCommand({
  meta: { name: 'synthscale', description: 'Scaling sweeps of synthetic training data on Temporal' },
  subCommands: {
    dev: lazy({ name: 'dev', description: 'Start the embedded stack: a Temporal dev server (SQLite, UI on 8233) and the cpu, generate and train workers' }, () =>
      import('./stack-commands.js').then((m) => m.dev),
    ),
    sweep: lazy({ name: 'sweep', description: 'Scaling sweeps: start, rerun, list, status, pause, resume, steer, cancel, report' }, () => import('./sweep.js').then((m) => m.sweep)),
    dataset: lazy({ name: 'dataset', description: 'Write a built-in dataset as an image folder or labelled shards (to try importing your own images)' }, () =>
      import('./make-dataset.js').then((m) => m.datasetCommand),
    ),
    shards: lazy({ name: 'shards', description: 'Check WebDataset / img2dataset shards before a sweep reads them' }, () =>
      import('./shards-check.js').then((m) => m.shardsCommand),
    ),
    worker: lazy({ name: 'worker', description: 'Run one worker process for a task queue (cpu, generate, train)' }, () => import('./stack-commands.js').then((m) => m.worker)),
    spec: lazy({ name: 'spec', description: 'Validate a sweep spec; --json prints it with defaults filled, for the Temporal CLI' }, () =>
      import('./stack-commands.js').then((m) => m.specCommand),
    ),
    temporal: lazy({ name: 'temporal', description: 'The Temporal CLI that setup installed, with TEMPORAL_ADDRESS/NAMESPACE from this environment' }, () =>
      import('./temporal-cli.js').then((m) => m.temporalCommand),
    ),
    'serve-generator': lazy({ name: 'serve-generator', description: 'Serve the embedded generator behind the A1111 and OpenAI images APIs' }, () =>
      import('./serve-generator.js').then((m) => m.serveGenerator),
    ),
    'codec-server': lazy({ name: 'codec-server', description: "Decode (and encode) payloads for the Temporal UI and CLI with this environment's keys" }, () =>
      import('./codec-server.js').then((m) => m.codecServer),
    ),
  },
});

/** A failing command prints its message (which names the fix), not a stack; a bad spec prints its field list. */
function report(err: unknown): never {
  const e = err as Error & { code?: string };
  const usage = e.name === 'CLIError' ? ' (see `synthscale --help`, and `--help` after any command)' : '';
  console.error(e.code === 'E_INVALID_SPEC' ? e.message : `error: ${e.message ?? String(err)}${usage}`);
  process.exit(1);
}

process.on('unhandledRejection', report);

const rawArgs = process.argv.slice(2);
if (rawArgs[0] === 'temporal') {
  // Everything after `temporal` is the Temporal CLI's, `--help` included.
  const { runTemporalCli } = await import('./temporal-cli.js');
  process.exitCode = await runTemporalCli(rawArgs.slice(1)).catch(report);
} else if (rawArgs.length === 0 || rawArgs.some((a) => a === '--help' || a === '-h' || a === '--version')) {
  await runMain(main);
} else {
  await runCommand(main, { rawArgs }).catch(report);
}
