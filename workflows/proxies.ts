// Activity proxies, one per task queue, with timeouts and retries chosen per stage.
import { proxyActivities } from '@temporalio/workflow';
import type { createCpuActivities, createGenerateActivities, createTrainActivities } from '../activities/index.js';
import { TASK_QUEUES } from './task-queues.js';
import { NON_RETRYABLE_FAILURE_TYPES } from '../contracts/failures.js';

// Bad input fails at once: these failure types are thrown as non-retryable by the activities too.
const nonRetryableErrorTypes = [...NON_RETRYABLE_FAILURE_TYPES];
const retry = { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 8, nonRetryableErrorTypes };

/** Light, fast CPU stages: planning, prompts, manifests, analysis, report. */
export const cpu = proxyActivities<ReturnType<typeof createCpuActivities>>({
  taskQueue: TASK_QUEUES.cpu,
  startToCloseTimeout: '30m',
  heartbeatTimeout: '2m',
  retry,
});

/** Importing image-caption shards decodes every image (large JPEGs for a LAION subset): hours. */
export const importer = proxyActivities<ReturnType<typeof createCpuActivities>>({
  taskQueue: TASK_QUEUES.cpu,
  startToCloseTimeout: '12h',
  heartbeatTimeout: '5m',
  retry,
});

/** Generator fitting blocks its worker's event loop for tens of seconds: a longer heartbeat window. */
export const fit = proxyActivities<ReturnType<typeof createGenerateActivities>>({
  taskQueue: TASK_QUEUES.generate,
  startToCloseTimeout: '4h',
  heartbeatTimeout: '5m',
  retry,
});

/**
 * Generation of one shard: heartbeats every item, so a dead worker shows within 30 s. Preempted
 * GPU workers are routine, and a retry resumes from the shard's saved parts: many attempts.
 */
export const generate = proxyActivities<ReturnType<typeof createGenerateActivities>>({
  taskQueue: TASK_QUEUES.generate,
  startToCloseTimeout: '12h',
  heartbeatTimeout: '30s',
  retry: { ...retry, maximumAttempts: 20 },
});

/**
 * Training runs for hours on real GPUs and heartbeats every few steps; a retry resumes from the
 * last checkpoint. Backoff grows to 5 minutes so a lost GPU node has time to come back.
 */
export const train = proxyActivities<ReturnType<typeof createTrainActivities>>({
  taskQueue: TASK_QUEUES.train,
  startToCloseTimeout: '48h',
  heartbeatTimeout: '30s',
  retry: { ...retry, maximumInterval: '5m', maximumAttempts: 20 },
});
