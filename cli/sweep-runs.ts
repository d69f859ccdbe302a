// Finding sweeps on the server: a sweep id or its workflow id (`demo-fashion-mnist` or
// `sweep-demo-fashion-mnist`, or a scheduled run's id) names the same sweep everywhere; a sweep's
// runs (it continues as new every cellsPerRun cells) are one chain whose start is the sweep's
// start; `sweep list` reads the visibility store (workflow type scalingSweepWorkflow).
import type { Client, WorkflowExecutionInfo, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { SweepProgress, SweepResult } from '../contracts/sweep.js';
import { SWEEP_ID } from '../workflows/search-attributes.js';
import { SWEEP_WORKFLOW_PREFIX, sweepWorkflowId } from './client.js';

const SWEEP_TYPE = 'scalingSweepWorkflow';
/** Executions read per listing: enough for the sweeps of a lab's namespace, bounded. */
const MAX_EXECUTIONS = 1000;

export interface ResolvedSweep {
  handle: WorkflowHandle;
  workflowId: string;
  description: Awaited<ReturnType<WorkflowHandle['describe']>>;
}

/** Quote a value for a visibility query (ids are user text). */
function quoted(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The sweep `id` names: workflow `sweep-<id>`, else workflow `<id>` itself when it is a sweep's
 * (the id the UI shows), else the newest sweep workflow whose SynthscaleSweepId is `id` (a run
 * started by a Schedule gets a timestamp appended). Throws with the fix when none exists.
 */
export async function resolveSweep(client: Client, id: string): Promise<ResolvedSweep> {
  const candidates = [sweepWorkflowId(id), ...(id.startsWith(SWEEP_WORKFLOW_PREFIX) ? [id] : [])];
  for (const workflowId of candidates) {
    const handle = client.workflow.getHandle(workflowId);
    try {
      const description = await handle.describe();
      if (description.type === SWEEP_TYPE) return { handle, workflowId, description };
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  const bare = id.startsWith(SWEEP_WORKFLOW_PREFIX) ? [id, id.slice(SWEEP_WORKFLOW_PREFIX.length)] : [id];
  const query = `WorkflowType=${quoted(SWEEP_TYPE)} AND SynthscaleSweepId IN (${bare.map(quoted).join(', ')})`;
  let newest: WorkflowExecutionInfo | undefined;
  for await (const wf of client.workflow.list({ query, pageSize: 100 })) if (!newest || wf.startTime > newest.startTime) newest = wf;
  if (newest) {
    const handle = client.workflow.getHandle(newest.workflowId);
    return { handle, workflowId: newest.workflowId, description: await handle.describe() };
  }
  throw new Error(
    `no sweep "${id}" here (no workflow ${candidates.join(' or ')}, none with SynthscaleSweepId ${bare.map(quoted).join(' or ')}). ` +
      'Fix: `synthscale sweep list` shows the sweeps this server has; check TEMPORAL_ADDRESS/TEMPORAL_NAMESPACE if it should be elsewhere.',
  );
}

/** A sweep's chain of runs (continue-as-new) as the visibility store has it: newest run first. */
export interface SweepChain {
  sweepId: string;
  workflowId: string;
  latest: WorkflowExecutionInfo;
  /** When the chain's first run started (the sweep's start). */
  startedAt: Date;
  /** Runs in the chain so far. */
  runs: number;
}

function chainOf(runs: WorkflowExecutionInfo[]): SweepChain {
  const sorted = [...runs].sort((a, b) => b.startTime.getTime() - a.startTime.getTime());
  const latest = sorted[0]!;
  let startedAt = latest.startTime;
  let count = 1;
  for (const run of sorted.slice(1)) {
    if (run.status.name !== 'CONTINUED_AS_NEW') break; // an earlier, separate run of the same id
    startedAt = run.startTime;
    count++;
  }
  const sweepId = latest.typedSearchAttributes.get(SWEEP_ID) ?? latest.workflowId.replace(/^sweep-/, '');
  return { sweepId, workflowId: latest.workflowId, latest, startedAt, runs: count };
}

async function chains(client: Client, query: string): Promise<SweepChain[]> {
  const byId = new Map<string, WorkflowExecutionInfo[]>();
  let seen = 0;
  for await (const wf of client.workflow.list({ query, pageSize: 200 })) {
    byId.set(wf.workflowId, [...(byId.get(wf.workflowId) ?? []), wf]);
    if (++seen >= MAX_EXECUTIONS) break;
  }
  return [...byId.values()].map(chainOf).sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime());
}

/** The chain the workflow id's latest run belongs to. */
export async function sweepChain(client: Client, workflowId: string): Promise<SweepChain | undefined> {
  return (await chains(client, `WorkflowType=${quoted(SWEEP_TYPE)} AND WorkflowId=${quoted(workflowId)}`))[0];
}

export function wallSeconds(chain: SweepChain, now = new Date()): number {
  return ((chain.latest.closeTime ?? now).getTime() - chain.startedAt.getTime()) / 1000;
}

/** Resolve within `ms`, else undefined (a query waits for a worker that may not be running). */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([promise.catch(() => undefined), new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);
}

export interface SweepRow {
  chain: SweepChain;
  /** "done/total", or "-" when the server cannot say without a worker (failed or cancelled sweeps). */
  cells: string;
}

/** Every sweep (newest first, at most `limit`), with cells done/total: the progress query while running, the result once completed. */
export async function listSweeps(client: Client, limit: number): Promise<SweepRow[]> {
  const found = (await chains(client, `WorkflowType=${quoted(SWEEP_TYPE)}`)).slice(0, limit);
  return Promise.all(
    found.map(async (chain) => {
      const handle = client.workflow.getHandle(chain.workflowId, chain.latest.runId);
      const status = chain.latest.status.name;
      if (status === 'RUNNING') {
        const p = await within(handle.query<SweepProgress>('progress'), 3000);
        return { chain, cells: p ? `${p.cells.done}/${p.cells.total}` : '?' };
      }
      if (status === 'COMPLETED') {
        const r = (await within(handle.result(), 5000)) as SweepResult | undefined;
        return { chain, cells: r ? `${r.cells}/${r.cells}` : '?' };
      }
      return { chain, cells: '-' };
    }),
  );
}
