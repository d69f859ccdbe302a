// `synthscale sweep ...`: start, rerun, list, watch, control and find the report of a sweep.
// A sweep id or its workflow id works everywhere (cli/sweep-runs.ts). Heavy modules (the Temporal
// client, zod, the store) load inside the command that needs them, so `--help` stays instant.
import { defineCommand } from 'citty';
import type { WorkflowHandle } from '@temporalio/client';
import type { SweepProgress, SweepResult } from '../contracts/sweep.js';
import type { ConnectedClient } from './client.js';
import type { AdaptiveSteer, SteerResult } from '../contracts/adaptive-run.js';

/** Connect, run `fn`, close; Temporal errors come back with their fix. */
async function withClient<T>(fn: (c: ConnectedClient) => Promise<T>): Promise<T> {
  const { connectClient } = await import('./client.js');
  const connected = await connectClient();
  try {
    return await fn(connected);
  } catch (err) {
    throw await connected.explain(err);
  } finally {
    await connected.close();
  }
}

/** Follow a running sweep with bars until it ends; returns its result. */
async function follow(handle: WorkflowHandle): Promise<SweepResult> {
  const { createProgressView } = await import('./progress-view.js');
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

/** A finished sweep: what it did, its headline slopes (from report.json), where its report is. */
async function printFinished(result: SweepResult, wallSeconds?: number): Promise<void> {
  const { headlineLines, reportLocationLines, summaryLines } = await import('./sweep-summary.js');
  const lines = [...summaryLines(result, wallSeconds), ...(await headlineLines(result)), ...reportLocationLines(result)];
  for (const line of lines) console.log(line);
}

/** The running sweep's cost so far, from the workers' usage records, when this machine reaches the store. */
async function printLiveCost(workflowId: string): Promise<void> {
  try {
    const [{ formatCost, loadSweepCost }, { depsFromEnv }] = await Promise.all([import('./cost-view.js'), import('../core/activity-deps.js')]);
    for (const line of formatCost(await loadSweepCost(depsFromEnv().store, workflowId, { running: true }))) console.log(line);
  } catch (err) {
    console.log(`cost: the store is not readable from here (${(err as Error).message.split('\n')[0]})`);
  }
}

const idArg = { type: 'positional', description: 'sweep id or its workflow id (demo-fashion-mnist or sweep-demo-fashion-mnist)', required: true } as const;

const start = defineCommand({
  meta: { name: 'start', description: 'Validate a sweep spec and start it (or attach to it if running)' },
  args: {
    spec: { type: 'positional', description: 'sweep spec (.yaml or .json)', required: true },
    wait: { type: 'boolean', description: 'wait for the sweep to finish, showing progress bars', default: false },
    'dry-run': { type: 'boolean', description: 'validate and say what the sweep would do (cells, images, data), then exit without starting', default: false },
  },
  async run({ args }) {
    const { loadSpecFile } = await import('./spec-file.js');
    const spec = await loadSpecFile(args.spec);
    if (args['dry-run']) {
      const { printDryRun } = await import('./dry-run.js');
      await printDryRun(spec, (line: string) => console.log(line));
      return;
    }
    const { startSweep, uiLink } = await import('./client.js');
    const { codeFingerprint } = await import('./code-fingerprint.js');
    const fingerprint = await codeFingerprint();
    await withClient(async ({ client }) => {
      const handle = await startSweep(client, spec, { codeFingerprint: fingerprint });
      console.log(`sweep ${spec.sweepId} started: workflow ${handle.workflowId}`);
      console.log(`Temporal UI: ${uiLink(handle.workflowId)}`);
      if (args.wait) await printFinished(await follow(handle));
    });
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
    const { loadSpecFile } = await import('./spec-file.js');
    const { rerunSweep, uiLink } = await import('./client.js');
    const { codeFingerprint } = await import('./code-fingerprint.js');
    const { reportLocationLines } = await import('./sweep-summary.js');
    const spec = await loadSpecFile(args.spec);
    const code = await codeFingerprint();
    await withClient(async ({ client }) => {
      const decision = await rerunSweep(client, spec, code);
      const { handle } = decision;
      if (decision.action === 'reuse') {
        console.log(`sweep ${spec.sweepId}: unchanged (spec and code ${code}); result of run ${decision.runId}`);
        for (const line of reportLocationLines((await handle.result()) as SweepResult)) console.log(line);
        return;
      }
      console.log(
        decision.action === 'attach'
          ? `sweep ${spec.sweepId}: the same spec and code are already running (run ${decision.runId}); attaching`
          : `sweep ${spec.sweepId}: running again (${decision.reason}); unchanged stages come from the store`,
      );
      console.log(`Temporal UI: ${uiLink(handle.workflowId)}`);
      if (args.wait) await printFinished(await follow(handle));
    });
  },
});

const list = defineCommand({
  meta: { name: 'list', description: 'The sweeps on the server, newest first: status, cells done/total, start, wall time' },
  args: { limit: { type: 'string', description: 'at most this many sweeps', default: '20' } },
  async run({ args }) {
    const limit = Number(args.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new Error(`--limit must be a whole number from 1 to 1000, not "${args.limit}"`);
    const { listSweeps, wallSeconds } = await import('./sweep-runs.js');
    const { clock } = await import('./sweep-summary.js');
    await withClient(async ({ client }) => {
      const rows = await listSweeps(client, limit);
      if (rows.length === 0) return void console.log('no sweeps on this server yet. Start one: synthscale sweep start specs/demo.yaml --wait');
      const table = [
        ['SWEEP', 'WORKFLOW ID', 'STATUS', 'CELLS', 'STARTED', 'WALL'],
        ...rows.map(({ chain, cells }) => [
          chain.sweepId,
          chain.workflowId,
          chain.latest.status.name,
          cells,
          chain.startedAt.toISOString().replace('T', ' ').slice(0, 19),
          clock(wallSeconds(chain)),
        ]),
      ];
      const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
      for (const row of table) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
    });
  },
});

const status = defineCommand({
  meta: { name: 'status', description: "A sweep's progress (bars per stage with ETA); once finished, what it did, its headline slopes and its report" },
  args: {
    id: idArg,
    watch: { type: 'boolean', description: 'keep the bars live until the sweep ends', default: false },
  },
  async run({ args }) {
    const { uiLink } = await import('./client.js');
    const { resolveSweep, sweepChain, wallSeconds } = await import('./sweep-runs.js');
    await withClient(async ({ client }) => {
      const { handle, workflowId, description } = await resolveSweep(client, args.id);
      const state = description.status.name;
      console.log(`${workflowId}: ${state}  ${uiLink(workflowId)}`);
      if (state === 'RUNNING') {
        if (args.watch) await printFinished(await follow(handle));
        else {
          console.log((await import('./progress-view.js')).formatProgress(await handle.query<SweepProgress>('progress')));
          await printLiveCost(handle.workflowId);
        }
      } else if (state === 'COMPLETED') {
        const chain = await sweepChain(client, workflowId);
        await printFinished((await handle.result()) as SweepResult, chain ? wallSeconds(chain) : undefined);
      } else if (state !== 'CONTINUED_AS_NEW') {
        const failure = await handle.result().then(() => undefined, (e: unknown) => e);
        const messages: string[] = [];
        for (let e = failure; e instanceof Error && messages.length < 4; e = (e as Error & { cause?: unknown }).cause) messages.push(e.message);
        if (messages.length) console.log(`  ${messages.join(' <- ').slice(0, 600)}`);
      }
    });
  },
});

const report = defineCommand({
  meta: { name: 'report', description: "Print where a finished sweep's report is; --open opens report.html in a browser" },
  args: {
    id: idArg,
    open: { type: 'boolean', description: 'open the HTML report (copied here first when it lives in a gs:// bucket)', default: false },
  },
  async run({ args }) {
    const { resolveSweep } = await import('./sweep-runs.js');
    const result = await withClient(async ({ client }) => {
      const { handle, description } = await resolveSweep(client, args.id);
      if (description.status.name !== 'COMPLETED') {
        throw new Error(`sweep ${args.id} is ${description.status.name}, so it has no report yet. Fix: \`synthscale sweep status ${args.id} --watch\``);
      }
      return (await handle.result()) as SweepResult;
    });
    const { openReport } = await import('./sweep-report.js');
    await openReport(result, args.id, args.open);
  },
});

function controlCommand(name: 'pause' | 'resume' | 'cancel', description: string) {
  return defineCommand({
    meta: { name, description },
    args: { id: idArg },
    async run({ args }) {
      const { resolveSweep } = await import('./sweep-runs.js');
      await withClient(async ({ client }) => {
        const { handle, workflowId } = await resolveSweep(client, args.id);
        if (name === 'cancel') await handle.cancel();
        else await handle.signal(name);
        console.log(`${name} sent to ${workflowId}`);
      });
    },
  });
}

const steer = defineCommand({
  meta: { name: 'steer', description: "Change an adaptive sweep's targets or budget while it runs (taken by its next decision)" },
  args: {
    id: idArg,
    target: { type: 'string', description: "targets replacing the current ones: 'quantity=slopeRatio,source=syn,metric=error,halfWidth=0.05' (several: separate with ';')" },
    budget: { type: 'string', description: "a new budget: 'cells=300,images=2000000,hours=24' (any of them)" },
  },
  async run({ args }) {
    const { formatSteerResult, parseSteer } = await import('./steer.js');
    const { resolveSweep } = await import('./sweep-runs.js');
    const change = parseSteer({ ...(args.target ? { target: args.target } : {}), ...(args.budget ? { budget: args.budget } : {}) });
    await withClient(async ({ client }) => {
      const { workflowId } = await resolveSweep(client, args.id);
      // The latest run (an adaptive sweep continues as new between rounds).
      const result = await client.workflow.getHandle(workflowId).executeUpdate<SteerResult, [AdaptiveSteer]>('steer', { args: [change] });
      for (const line of formatSteerResult(workflowId, result)) console.log(line);
    });
  },
});

export const sweep = defineCommand({
  meta: { name: 'sweep', description: 'Scaling sweeps' },
  subCommands: {
    start,
    rerun,
    list,
    status,
    report,
    pause: controlCommand('pause', 'Stop starting new cells and shards (running ones finish)'),
    resume: controlCommand('resume', 'Resume a paused sweep'),
    steer,
    cancel: controlCommand('cancel', 'Cancel a sweep: activities stop at their next heartbeat; finished artifacts stay'),
  },
});
