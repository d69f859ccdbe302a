// Temporal client helpers shared by CLI commands and tests.
import { Client, Connection, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import { connectionOptionsFromEnv } from '../core/temporal-env.js';
import type { SweepSpec } from '../core/spec.js';
import { TASK_QUEUES } from '../workflows/task-queues.js';
import { SWEEP_ID } from '../workflows/search-attributes.js';

export async function connectClient(): Promise<{ client: Client; close: () => Promise<void>; address: string }> {
  const env = connectionOptionsFromEnv();
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...env.connection, connectTimeout: '5s' });
  } catch (err) {
    throw new Error(
      `cannot reach the Temporal server at ${env.connection.address} (${(err as Error).message}). ` +
        `Fix: start the embedded one with \`bash infra/stack.sh up\` (or \`npm run demo\`), or set TEMPORAL_ADDRESS.`,
    );
  }
  return { client: new Client({ connection, namespace: env.namespace }), close: () => connection.close(), address: env.connection.address };
}

export function sweepWorkflowId(sweepId: string): string {
  return `sweep-${sweepId}`;
}

export function uiLink(workflowId: string, namespace = process.env.TEMPORAL_NAMESPACE ?? 'default'): string {
  const base = process.env.TEMPORAL_UI_URL ?? `http://localhost:${process.env.SYNTHSCALE_UI_PORT ?? 8233}`;
  return `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/**
 * Start (or attach to) the sweep's workflow. A running sweep with this id is attached to rather
 * than duplicated; a finished one is run again, which resumes from the store's cached artifacts.
 */
export async function startSweep(client: Client, spec: SweepSpec) {
  return client.workflow.start('scalingSweepWorkflow', {
    taskQueue: TASK_QUEUES.cpu,
    workflowId: sweepWorkflowId(spec.sweepId),
    args: [spec],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    typedSearchAttributes: [{ key: SWEEP_ID, value: spec.sweepId }],
  });
}
