// synthscale CLI: start sweeps, watch their progress, find their reports.
import { serveGenerator } from './serve-generator.js';
import { defineCommand, runMain } from 'citty';
import { fileURLToPath } from 'node:url';
import { loadSpecFile, SpecError } from '../core/spec.js';
import type { SweepProgress, SweepResult } from '../workflows/scaling-sweep.js';
import { connectClient, startSweep, sweepWorkflowId, uiLink } from './client.js';

function formatProgress(p: SweepProgress): string {
  const eta = p.etaSeconds === null ? '' : `, ETA ${Math.round(p.etaSeconds)}s`;
  const images = p.images.total ? ` images ${p.images.done}/${p.images.total}` : '';
  return `[${p.sweepId}] stage=${p.stage}${p.paused ? ' (paused)' : ''} sources ${p.sources.done}/${p.sources.total}${images} cells ${p.cells.done}/${p.cells.total} (running ${p.cells.running}, cached ${p.cells.cached}), ${Math.round(p.elapsedSeconds)}s elapsed${eta}`;
}

function reportPath(uri: string): string {
  return uri.startsWith('file://') ? fileURLToPath(uri) : uri;
}

const start = defineCommand({
  meta: { name: 'start', description: 'Validate a sweep spec and start it (or attach to it if running)' },
  args: {
    spec: { type: 'positional', description: 'sweep spec (.yaml or .json)', required: true },
    wait: { type: 'boolean', description: 'wait for the sweep to finish, printing progress', default: false },
  },
  async run({ args }) {
    const spec = await loadSpecFile(args.spec);
    const { client, close } = await connectClient();
    try {
      const handle = await startSweep(client, spec);
      console.log(`sweep ${spec.sweepId} started: workflow ${handle.workflowId}`);
      console.log(`Temporal UI: ${uiLink(handle.workflowId)}`);
      if (!args.wait) return;
      let last = '';
      const timer = setInterval(async () => {
        try {
          const line = formatProgress(await handle.query<SweepProgress>('progress'));
          if (line !== last) console.log((last = line));
        } catch {
          /* the query fails briefly while the first workflow task runs */
        }
      }, 2000);
      try {
        const result = await handle.result() as SweepResult;
        console.log(`sweep ${result.sweepId} finished: ${result.cells} cells (${result.cachedCells} from cache), ${result.stats.imagesSampled} images generated, ${result.stats.trainStepsRun} training steps`);
        for (const [stage, seconds] of Object.entries(result.stageSeconds)) console.log(`  ${stage}: ${seconds.toFixed(1)} s`);
        console.log(`report: ${reportPath(result.reportMarkdownUri)}`);
        console.log(`plot:   ${reportPath(result.plotUri)}`);
      } finally {
        clearInterval(timer);
      }
    } finally {
      await close();
    }
  },
});

const status = defineCommand({
  meta: { name: 'status', description: 'Show a sweep\'s progress' },
  args: { id: { type: 'positional', description: 'sweep id', required: true } },
  async run({ args }) {
    const { client, close } = await connectClient();
    try {
      const handle = client.workflow.getHandle(sweepWorkflowId(args.id));
      const description = await handle.describe();
      console.log(`${handle.workflowId}: ${description.status.name}  ${uiLink(handle.workflowId)}`);
      if (description.status.name === 'RUNNING') console.log(formatProgress(await handle.query<SweepProgress>('progress')));
      if (description.status.name === 'COMPLETED') {
        const result = (await handle.result()) as SweepResult;
        console.log(`report: ${reportPath(result.reportMarkdownUri)}`);
      }
    } finally {
      await close();
    }
  },
});

function controlCommand(name: 'pause' | 'resume' | 'cancel', description: string) {
  return defineCommand({
    meta: { name, description },
    args: { id: { type: 'positional', description: 'sweep id', required: true } },
    async run({ args }) {
      const { client, close } = await connectClient();
      try {
        const handle = client.workflow.getHandle(sweepWorkflowId(args.id));
        if (name === 'cancel') await handle.cancel();
        else await handle.signal(name);
        console.log(`${name} sent to ${handle.workflowId}`);
      } finally {
        await close();
      }
    },
  });
}

const sweep = defineCommand({
  meta: { name: 'sweep', description: 'Scaling sweeps' },
  subCommands: {
    start,
    status,
    pause: controlCommand('pause', 'Stop starting new cells and shards (running ones finish)'),
    resume: controlCommand('resume', 'Resume a paused sweep'),
    cancel: controlCommand('cancel', 'Cancel a sweep: activities stop at their next heartbeat; finished artifacts stay'),
  },
});

const main = defineCommand({
  meta: { name: 'synthscale', description: 'Scaling sweeps of synthetic training data on Temporal' },
  subCommands: { sweep, 'serve-generator': serveGenerator },
});

process.on('unhandledRejection', (err) => {
  console.error(err instanceof SpecError ? err.message : `error: ${(err as Error).message}`);
  process.exit(1);
});

await runMain(main);
