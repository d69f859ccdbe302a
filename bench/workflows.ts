// Workflow bundle for the orchestration bench: the project's workflows, plus three bench-only ones
// measuring what the same Temporal server costs without synthscale's orchestration logic.
import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { TASK_QUEUES } from '../workflows/task-queues.js';

export * from '../workflows/index.js';

export interface BenchActivities {
  /** Does nothing; echoes a payload about the size of a generateShard input/output. */
  benchNoop(input: { payload: string }): Promise<{ payload: string }>;
}

const retry = { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 8 };

// Same queue and timeouts as workflows/proxies.ts `generate` and `train`.
const onGenerate = proxyActivities<BenchActivities>({
  taskQueue: TASK_QUEUES.generate,
  startToCloseTimeout: '12h',
  heartbeatTimeout: '30s',
  retry: { ...retry, maximumAttempts: 20 },
});
const onTrain = proxyActivities<BenchActivities>({
  taskQueue: TASK_QUEUES.train,
  startToCloseTimeout: '48h',
  heartbeatTimeout: '30s',
  retry: { ...retry, maximumInterval: '5m', maximumAttempts: 20 },
});

/** `n` no-op activities one after another on the generate queue (activity round-trip latency). */
export async function benchRoundTripWorkflow(n: number, payload: string): Promise<number> {
  for (let i = 0; i < n; i++) await onGenerate.benchNoop({ payload });
  return n;
}

/** The floor of a cell: a child workflow running two no-op activities (train + evaluate) on the train queue. */
export async function benchCellWorkflow(payload: string): Promise<void> {
  await onTrain.benchNoop({ payload });
  await onTrain.benchNoop({ payload });
}

/** `cells` bench cells as child workflows in a sliding window of `window` (like maxConcurrentCells). */
export async function benchFanOutWorkflow(cells: number, window: number, payload: string): Promise<number> {
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < cells) {
      const index = next++;
      await executeChild(benchCellWorkflow, { args: [payload], workflowId: `${workflowInfo().workflowId}-cell-${index}`, taskQueue: TASK_QUEUES.cpu });
      done++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, cells) }, lane));
  return done;
}
