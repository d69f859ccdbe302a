// Small summaries that cross workflow boundaries (never images or tensors: those stay in storage).

/** One evaluation of one trained cell on one eval set. */
export interface CellMetrics {
  source: string;
  /** Number of training images N. */
  size: number;
  seed: number;
  evalSet: string;
  /** Mean cross-entropy on the eval set (natural log). */
  loss: number;
  /** Top-1 accuracy in [0, 1]. */
  accuracy: number;
  /** Expected calibration error (15 equal-width confidence bins). */
  ece: number;
  /** Per-class top-1 accuracy, indexed by class. */
  perClassAccuracy: number[];
  trainSteps: number;
  trainSeconds: number;
  /** Storage URI of the eval result JSON. */
  resultUri: string;
}

export interface SourceSummary {
  name: string;
  kind: 'real' | 'synthetic';
  /** e.g. "embedded-gmm, classnames, CFG 2" */
  description: string;
  cfgScale?: number;
  promptStrategy?: string;
  manifestUri: string;
  images: number;
  generationSeconds?: number;
}
