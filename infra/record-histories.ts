// Records the histories of a real sweep (the sweep workflow, one data-source child and one cell
// child) into test/histories/, for the replay test that guards workflow determinism.
// Usage (against a running stack with workers): node --import tsx infra/record-histories.ts <sweep-id> [out-dir]
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { connectClient, sweepWorkflowId } from '../cli/client.js';

const [sweepId, outDir = 'test/histories'] = process.argv.slice(2);
if (!sweepId) {
  console.error('usage: node --import tsx infra/record-histories.ts <sweep-id> [out-dir]');
  process.exit(2);
}
const { client, close } = await connectClient();
try {
  await mkdir(outDir, { recursive: true });
  const root = sweepWorkflowId(sweepId);
  const ids = [root];
  for await (const execution of client.workflow.list({ query: `SynthscaleSweepId = '${sweepId}'` })) {
    if (execution.workflowId === root) continue;
    if (ids.length >= 4) break;
    if (!ids.some((id) => id.split('/')[1] === execution.workflowId.split('/')[1])) ids.push(execution.workflowId);
  }
  for (const workflowId of ids) {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const file = join(outDir, `${workflowId.replaceAll('/', '__')}.json`);
    await writeFile(file, historyToJSON(history));
    console.log(`${file}: ${history.events?.length ?? 0} events`);
  }
} finally {
  await close();
}
