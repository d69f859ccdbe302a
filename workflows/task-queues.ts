/** One worker process per queue: `cpu` runs workflows and light activities; the others do heavy work. */
export const TASK_QUEUES = { cpu: 'cpu', generate: 'generate', train: 'train' } as const;
export type TaskQueue = (typeof TASK_QUEUES)[keyof typeof TASK_QUEUES];
