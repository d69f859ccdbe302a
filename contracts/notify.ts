// What the sweep tells the outside world when it ends: one notice per finished, failed or
// over-budget sweep, posted by the cpu worker's notifySweep activity (activities/notify/) to the
// webhook named by SYNTHSCALE_WEBHOOK_URL. It holds ids, counts and a storage URI only: no secret,
// since it passes through workflow history.

export interface SweepNotice { sweepId: string; workflowId: string; event: 'completed' | 'failed' | 'failure-budget-exceeded'; message: string; reportUri?: string; cells?: { done: number; total: number } }
