// The dataset import stage's input and output (activities/datasets), as the workflow sees them.
import type { ImageGeometry } from '../core/image/geometry.js';
import type { ImportSkips } from '../core/datasets/descriptor.js';
import type { ImportedDatasetSpec } from './spec/datasets.js';

export const DATASET_IMPORT_CODE_VERSION = 'dataset-import-1';

export interface DatasetImportInput {
  /** What the spec says of the dataset. */
  dataset: ImportedDatasetSpec;
  /** The splits to import (folder names / keys of `splits`). */
  splits: string[];
  geometry: ImageGeometry;
  /**
   * Label order to import with (an eval set's dataset: the sweep's classes). Its class names must
   * be exactly these, in any order, else the import fails naming the missing and extra classes.
   */
  classes?: string[];
  /** Which dataset of the spec this is, for messages: 'dataset' or 'eval.<i>.dataset'. */
  role: string;
}

export interface DatasetImportOutput {
  fingerprint: string;
  descriptorUri: string;
  title: string;
  classes: string[];
  geometry: ImageGeometry;
  splits: Record<string, { count: number; classCounts: number[] }>;
  skipped: ImportSkips;
  /** Inputs (files or shard samples) read. */
  inputs: number;
  seconds: number;
  cached: boolean;
}
