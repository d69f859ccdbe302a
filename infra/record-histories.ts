// Records the histories of a real sweep (the sweep workflow, one data-source child and one cell
// child) into test/histories/, for the replay test that guards workflow determinism.
// Usage (against a running stack with workers): node --import tsx infra/record-histories.ts <sweep-id> [out-dir]
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { connectClient, sweepWorkflowId } from '../cli/client.js';

const [sweepId, outDir = 'test/workflows/histories'] = process.argv.slice(2);
if (!sweepId) {
  console.error('usage: node --import tsx infra/record-histories.ts <sweep-id> [out-dir]');
  process.exit(2);
}
const { client, close, address } = await connectClient();
const cli = process.env.TEMPORAL_CLI ?? execFileSync('bash', ['infra/stack.sh', 'ensure-cli']).toString().trim();
try {
  await mkdir(outDir, { recursive: true });
  const root = sweepWorkflowId(sweepId);
  // Every run of the sweep (continue-as-new included), plus one data-source child of each kind and one cell.
  const picks: { workflowId: string; runId: string; name: string }[] = [];
  for await (const execution of client.workflow.list({ query: `SynthscaleSweepId = '${sweepId}'` })) {
    const { workflowId, runId } = execution;
    if (workflowId === root) picks.push({ workflowId, runId, name: `${workflowId}__run-${execution.startTime.toISOString()}` });
    else if (!picks.some((p) => p.workflowId.split('/').slice(1, 3).join('/') === workflowId.split('/').slice(1, 3).join('/'))) {
      picks.push({ workflowId, runId, name: workflowId });
    }
  }
  for (const { workflowId, runId, name } of picks) {
    // The Temporal CLI's JSON export is the format historyFromJSON (and the UI's download) reads.
    const json = execFileSync(cli, ['workflow', 'show', '--address', address, '-w', workflowId, '-r', runId, '-o', 'json'], {
      maxBuffer: 256 << 20,
    });
    const file = join(outDir, `${name.replaceAll('/', '__').replaceAll(':', '-')}.json`);
    await writeFile(file, json);
    console.log(`${file}: ${JSON.parse(json.toString()).events.length} events`);
  }
} finally {
  await close();
}
