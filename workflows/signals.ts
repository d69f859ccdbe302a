// Signals and queries shared by the sweep and its children.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AdaptiveSteer, SteerResult } from '../contracts/adaptive-run.js';

/** Pause stops starting new cells and shards; running ones finish. Resume continues. */
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');

/** A data-source child reports its generation progress to the sweep. */
export interface SourceProgressUpdate {
  source: string;
  imagesDone: number;
  imagesTotal: number;
}
export const sourceProgressSignal = defineSignal<[SourceProgressUpdate]>('sourceProgress');

export const progressQuery = defineQuery<unknown>('progress');

/** An adaptive sweep's targets or budget, changed while it runs (`synthscale sweep steer`). */
export const steerUpdate = defineUpdate<SteerResult, [AdaptiveSteer]>('steer');
