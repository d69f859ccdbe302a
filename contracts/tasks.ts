// Tasks a cell can train: one entry per task, the one place to add one (with its activities in
// workflows/cell-tasks.ts). The spec's `tasks` enum is TASK_NAMES.

export const TASK_NAMES = ['classifier', 'clip'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

export interface TaskInfo {
  /** The cell's child workflow id part after the source name, e.g. "n500/s0" or "clip/n500/s0". */
  cellIdPart(size: number, seed: number): string;
  /** The curve its cells are analysed under: the source's own name, or e.g. "clip:real". */
  curveName(source: string): string;
  /** Only sources with class labels can train it (image-caption pairs without labels cannot). */
  needsLabels: boolean;
}

export const TASKS: { readonly [T in TaskName]: TaskInfo } = {
  classifier: {
    cellIdPart: (size, seed) => `n${size}/s${seed}`,
    curveName: (source) => source,
    needsLabels: true,
  },
  clip: {
    cellIdPart: (size, seed) => `clip/n${size}/s${seed}`,
    curveName: (source) => `${CLIP_CURVE_PREFIX}${source}`,
    needsLabels: false,
  },
};

/** CLIP cells are analysed as their own curves, under the source name `clip:<source>`. */
export const CLIP_CURVE_PREFIX = 'clip:';
