// Temporal client helpers shared by CLI commands and tests.
import { Client, Connection, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { connectionOptionsFromEnv } from '../core/temporal-env.js';
import { dataConverterFromEnv } from '../core/payload-codec.js';
import { inputHash } from '../core/hash.js';
import type { SweepSpec } from '../contracts/spec/sweep.js';
import { TASK_QUEUES } from '../workflows/task-queues.js';
import { SWEEP_ID } from '../workflows/search-attributes.js';
import { explainTemporalError, isNamespaceNotFound, temporalEnvSummary } from './temporal-errors.js';

export interface ConnectedClient {
  client: Client;
  close: () => Promise<void>;
  address: string;
  /** The error with its fix; an unknown namespace also lists the namespaces the server has. */
  explain: (err: unknown) => Promise<Error>;
}

/** Names of the namespaces on the server (empty when they cannot be listed, e.g. on Temporal Cloud). */
export async function listNamespaces(connection: Connection): Promise<string[]> {
  try {
    const { namespaces } = await connection.workflowService.listNamespaces({ pageSize: 100 });
    return namespaces.map((n) => n.namespaceInfo?.name ?? '').filter((n) => n && n !== 'temporal-system');
  } catch {
    return [];
  }
}

export async function connectClient(): Promise<ConnectedClient> {
  const env = connectionOptionsFromEnv();
  // Encrypts payloads when SYNTHSCALE_CODEC_KEY (or a keyring) is set; checked before connecting.
  const dataConverter = dataConverterFromEnv();
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...env.connection, connectTimeout: '5s' });
  } catch (err) {
    throw explainTemporalError(err, temporalEnvSummary());
  }
  const explain = async (err: unknown) =>
    explainTemporalError(err, temporalEnvSummary(), isNamespaceNotFound(err) ? { namespaces: await listNamespaces(connection) } : {});
  return { client: new Client({ connection, namespace: env.namespace, dataConverter }), close: () => connection.close(), address: env.connection.address, explain };
}

export const SWEEP_WORKFLOW_PREFIX = 'sweep-';

export function sweepWorkflowId(sweepId: string): string {
  return `${SWEEP_WORKFLOW_PREFIX}${sweepId}`;
}

export function uiLink(workflowId: string, namespace = process.env.TEMPORAL_NAMESPACE ?? 'default'): string {
  const base = process.env.TEMPORAL_UI_URL ?? `http://localhost:${process.env.SYNTHSCALE_UI_PORT ?? 8233}`;
  return `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** Hash of a validated spec, kept in the sweep's memo so a rerun can tell "same spec" at once. */
export function specHash(spec: SweepSpec): string {
  return inputHash('sweep-spec', 'spec-1', spec);
}

/**
 * Start (or attach to) the sweep's workflow. A running sweep with this id is attached to rather
 * than duplicated; a finished one is run again, which resumes from the store's cached artifacts.
 * The memo records the spec's hash and, when given, the code fingerprint (cli/code-fingerprint.ts).
 */
export async function startSweep(client: Client, spec: SweepSpec, opts: { codeFingerprint?: string } = {}) {
  try {
    return await client.workflow.start('scalingSweepWorkflow', {
      taskQueue: TASK_QUEUES.cpu,
      workflowId: sweepWorkflowId(spec.sweepId),
      args: [spec],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      typedSearchAttributes: [{ key: SWEEP_ID, value: spec.sweepId }],
      memo: { specHash: specHash(spec), ...(opts.codeFingerprint ? { codeFingerprint: opts.codeFingerprint } : {}) },
      // The UI's label of the sweep (its children and activities carry their own: workflows/labels.ts).
      staticSummary: `sweep ${spec.sweepId} · ${spec.sources.map((s) => s.name).join(', ')} · N=${spec.sizes.join(',')} · seeds ${spec.seeds.join(',')}`.slice(0, 200),
    });
  } catch (err) {
    throw explainTemporalError(err, temporalEnvSummary());
  }
}

export type RerunDecision =
  | { action: 'reuse'; handle: WorkflowHandle; runId: string }
  | { action: 'attach'; handle: WorkflowHandle; runId: string }
  | { action: 'start'; handle: WorkflowHandle; reason: string };

/**
 * `sweep rerun`: safe on every push. The last run completed with the same spec and code: its
 * result stands (no new run). The same run is still going: attach. Otherwise start a run; its
 * stages find their unchanged artifacts by content key, so only what changed is recomputed.
 */
export async function rerunSweep(client: Client, spec: SweepSpec, codeFingerprint: string): Promise<RerunDecision> {
  const handle = client.workflow.getHandle(sweepWorkflowId(spec.sweepId));
  let reason = 'no earlier run';
  try {
    const last = await handle.describe();
    const memo = (last.memo ?? {}) as { specHash?: unknown; codeFingerprint?: unknown };
    const same = memo.specHash === specHash(spec) && memo.codeFingerprint === codeFingerprint;
    const status = last.status.name;
    if (same && status === 'COMPLETED') return { action: 'reuse', handle: client.workflow.getHandle(handle.workflowId, last.runId), runId: last.runId };
    if (status === 'RUNNING') {
      if (same) return { action: 'attach', handle, runId: last.runId };
      throw new Error(
        `sweep ${spec.sweepId} is running with another spec or code (run ${last.runId}). Fix: wait for it, or \`synthscale sweep cancel ${spec.sweepId}\` and rerun.`,
      );
    }
    reason =
      status !== 'COMPLETED'
        ? `the last run ended ${status}`
        : memo.specHash !== specHash(spec)
          ? 'the spec changed'
          : 'the code changed';
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw explainTemporalError(err, temporalEnvSummary());
  }
  return { action: 'start', handle: await startSweep(client, spec, { codeFingerprint }), reason };
}
