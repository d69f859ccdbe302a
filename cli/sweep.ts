// `synthscale sweep ...`: start, rerun, watch, control and find the report of a sweep.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineCommand } from 'citty';
import type { WorkflowHandle } from '@temporalio/client';
import { loadSpecFile } from './spec-file.js';
import { openStore } from '../core/storage.js';
import type { SweepProgress, SweepResult } from '../contracts/sweep.js';
import { connectClient, rerunSweep, startSweep, sweepWorkflowId, uiLink } from './client.js';
import { codeFingerprint, PROJECT_ROOT } from './code-fingerprint.js';
import { createProgressView, formatProgress } from './progress-view.js';

function localPath(uri: string): string {
  return uri.startsWith('file://') ? fileURLToPath(uri) : uri;
}

/** Follow a running sweep with bars until it ends; returns its result. */
async function follow(handle: WorkflowHandle): Promise<SweepResult> {
  const view = createProgressView();
  const poll = async () => {
    try {
      view.update(await handle.query<SweepProgress>('progress'));
    } catch {
      /* the query fails briefly while a workflow task runs or the run continues as new */
    }
  };
  await poll();
  const timer = setInterval(() => void poll(), 2000);
  try {
    return (await handle.result()) as SweepResult;
  } finally {
    clearInterval(timer);
    await poll();
    view.stop();
  }
}

function printResult(result: SweepResult): void {
  console.log(
    `sweep ${result.sweepId} finished: ${result.cells} cells (${result.cachedCells} from cache), ${result.stats.imagesSampled} images generated, ${result.stats.trainStepsRun} training steps`,
  );
  for (const [stage, seconds] of Object.entries(result.stageSeconds)) console.log(`  ${stage}: ${seconds.toFixed(1)} s`);
  printReportLocations(result);
}

function printReportLocations(result: SweepResult): void {
  if (result.reportHtmlUri) console.log(`report: ${localPath(result.reportHtmlUri)}`);
  console.log(`report (markdown): ${localPath(result.reportMarkdownUri)}`);
  console.log(`plot: ${localPath(result.plotPngUri ?? result.plotUri)}`);
}

const start = defineCommand({
  meta: { name: 'start', description: 'Validate a sweep spec and start it (or attach to it if running)' },
  args: {
    spec: { type: 'positional', description: 'sweep spec (.yaml or .json)', required: true },
    wait: { type: 'boolean', description: 'wait for the sweep to finish, showing progress bars', default: false },
  },
  async run({ args }) {
    const spec = await loadSpecFile(args.spec);
    const { client, close } = await connectClient();
    try {
      const handle = await startSweep(client, spec, { codeFingerprint: await codeFingerprint() });
      console.log(`sweep ${spec.sweepId} started: workflow ${handle.workflowId}`);
      console.log(`Temporal UI: ${uiLink(handle.workflowId)}`);
      if (args.wait) printResult(await follow(handle));
    } finally {
      await close();
    }
  },
});

const rerun = defineCommand({
  meta: {
    name: 'rerun',
    description: 'For CI: same spec and code as the last completed run -> its result at once; else run again, recomputing only changed stages',
  },
  args: {
    spec: { type: 'positional', description: 'sweep spec (.yaml or .json)', required: true },
    wait: { type: 'boolean', description: 'wait for a started run to finish (default; --no-wait to return at once)', default: true },
  },
  async run({ args }) {
    const spec = await loadSpecFile(args.spec);
    const code = await codeFingerprint();
    const { client, close } = await connectClient();
    try {
      const decision = await rerunSweep(client, spec, code);
      const { handle } = decision;
      if (decision.action === 'reuse') {
        console.log(`sweep ${spec.sweepId}: unchanged (spec and code ${code}); result of run ${decision.runId}`);
        printReportLocations((await handle.result()) as SweepResult);
        return;
      }
      console.log(
        decision.action === 'attach'
          ? `sweep ${spec.sweepId}: the same spec and code are already running (run ${decision.runId}); attaching`
          : `sweep ${spec.sweepId}: running again (${decision.reason}); unchanged stages come from the store`,
      );
      console.log(`Temporal UI: ${uiLink(handle.workflowId)}`);
      if (args.wait) printResult(await follow(handle));
    } finally {
      await close();
    }
  },
});

const status = defineCommand({
  meta: { name: 'status', description: "Show a sweep's progress: bars per stage with ETA" },
  args: {
    id: { type: 'positional', description: 'sweep id', required: true },
    watch: { type: 'boolean', description: 'keep the bars live until the sweep ends', default: false },
  },
  async run({ args }) {
    const { client, close } = await connectClient();
    try {
      const handle = client.workflow.getHandle(sweepWorkflowId(args.id));
      const description = await handle.describe();
      console.log(`${handle.workflowId}: ${description.status.name}  ${uiLink(handle.workflowId)}`);
      if (description.status.name === 'RUNNING') {
        if (args.watch) printResult(await follow(handle));
        else console.log(formatProgress(await handle.query<SweepProgress>('progress')));
      }
      if (description.status.name === 'COMPLETED') printReportLocations((await handle.result()) as SweepResult);
    } finally {
      await close();
    }
  },
});

const report = defineCommand({
  meta: { name: 'report', description: "Print where a finished sweep's report is; --open opens report.html in a browser" },
  args: {
    id: { type: 'positional', description: 'sweep id', required: true },
    open: { type: 'boolean', description: 'open the HTML report (copied here first when it lives in a gs:// bucket)', default: false },
  },
  async run({ args }) {
    const { client, close } = await connectClient();
    let result: SweepResult;
    try {
      const handle = client.workflow.getHandle(sweepWorkflowId(args.id));
      const description = await handle.describe();
      if (description.status.name !== 'COMPLETED') {
        throw new Error(`sweep ${args.id} is ${description.status.name}, so it has no report yet. Fix: \`synthscale sweep status ${args.id} --watch\``);
      }
      result = (await handle.result()) as SweepResult;
    } finally {
      await close();
    }
    printReportLocations(result);
    if (!args.open) return;
    const uri = result.reportHtmlUri ?? result.reportMarkdownUri;
    let path = localPath(uri);
    if (!uri.startsWith('file://')) {
      // A report in a bucket: fetch it (checksum-verified by the store) into .synthscale/reports.
      const root = uri.slice(0, uri.indexOf('/reports/'));
      const store = openStore(root);
      const dir = join(PROJECT_ROOT, '.synthscale', 'reports', args.id);
      await mkdir(dir, { recursive: true });
      path = join(dir, uri.slice(uri.lastIndexOf('/') + 1));
      await writeFile(path, await store.get(store.keyOf(uri), { maxBytes: 256 * 1024 * 1024 }));
      console.log(`copied to ${path}`);
    }
    const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
    const child = spawn(opener, [path], { detached: true, stdio: 'ignore' });
    child.on('error', () => console.log(`no ${opener} here: open ${path} in a browser`));
    child.unref();
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

export const sweep = defineCommand({
  meta: { name: 'sweep', description: 'Scaling sweeps' },
  subCommands: {
    start,
    rerun,
    status,
    report,
    pause: controlCommand('pause', 'Stop starting new cells and shards (running ones finish)'),
    resume: controlCommand('resume', 'Resume a paused sweep'),
    cancel: controlCommand('cancel', 'Cancel a sweep: activities stop at their next heartbeat; finished artifacts stay'),
  },
});
