// The dataset import stage's activity (cpu queue): importDataset brings a lab's image folder or
// labelled WebDataset shards into the store at the sweep's geometry (import.ts). It heartbeats
// `{ cursor, progress }`: the cursor after every shard written (the split, where its inputs
// resume, the shards so far, the fingerprint chain), the progress every few seconds and at least
// every 5 s while one slow input decodes. A retried attempt resumes from the cursor of the last
// heartbeat the server kept (validated: another listing, or shards gone, start over). Outputs are
// content-addressed; an unchanged rerun returns the stored result (cached: true) without decoding.
import { activityInfo, cancellationSignal, heartbeat } from '@temporalio/activity';
import type { DatasetImportInput, DatasetImportOutput } from '../../contracts/datasets.js';
import type { ActivityDeps } from '../../core/activity-deps.js';
import type { ImportCursor } from './cursor.js';
import { runDatasetImport, type ImportProgress } from './import.js';

export { runDatasetImport } from './import.js';
export type { ImportDeps, ImportHooks, ImportProgress } from './import.js';

/** What importDataset heartbeats. */
export interface DatasetImportHeartbeat {
  cursor?: ImportCursor;
  progress?: ImportProgress;
}

const KEEPALIVE_MS = 5000;

export function createDatasetActivities(deps: ActivityDeps) {
  return {
    async importDataset(input: DatasetImportInput): Promise<DatasetImportOutput> {
      const previous = activityInfo().heartbeatDetails as DatasetImportHeartbeat | undefined;
      const cursor = previous && typeof previous === 'object' ? previous.cursor : undefined;
      // Carried forward until the first new checkpoint, so a crash before it still resumes from it.
      const details: DatasetImportHeartbeat = cursor ? { cursor } : {};
      const beat = () => heartbeat(details);
      const keepAlive = setInterval(beat, KEEPALIVE_MS);
      try {
        return await runDatasetImport({ store: deps.store }, input, {
          cursor,
          signal: cancellationSignal(),
          onCheckpoint(cursor) {
            details.cursor = cursor;
            beat();
          },
          onProgress(progress) {
            details.progress = progress;
            beat();
          },
        });
      } finally {
        clearInterval(keepAlive);
      }
    },
  };
}
