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
  /** CLIP cells: zero-shot with the single template "a photo of a {}." (loss/accuracy above are the ensemble's). */
  zeroShotSingle?: { loss: number; accuracy: number };
  /** CLIP cells on clean eval sets: the linear probe of the frozen image trunk. */
  probe?: { loss: number; accuracy: number };
}

export interface SourceSummary {
  name: string;
  kind: 'real' | 'synthetic' | 'mixed' | 'real-pairs' | 'control';
  /** e.g. "embedded-gmm, classnames, CFG 2" */
  description: string;
  cfgScale?: number;
  promptStrategy?: string;
  /** Where the prompt text came from, e.g. "word2sentence: template grammar (no LLM configured)". */
  promptProvenance?: string;
  /** A mixed source's parts: its real and synthetic sources, and N_s for a given real N. */
  mix?: { real: string; synthetic: string; syntheticPerReal?: number; syntheticImages?: number };
  manifestUri: string;
  /** seedDraws 'data': per seed, the manifest of that seed's own images (real and control sources). */
  seedManifests?: Record<string, string>;
  images: number;
  /** Real training images the source's generator was fitted on (embedded generators; unknown for remote ones). */
  generatorRealImages?: number;
  generationSeconds?: number;
  /** real-pairs: input shards read, and where the pairs' class labels came from. */
  pairs?: { inputShards: number; labels: { metadata: number; caption: number; unlabeled: number } };
}

/** One evaluation set: the real test split, clean or under a deterministic OOD shift. */
export interface EvalSetSpec {
  name: string;
  /** A split of the sweep's dataset, or of `dataset` when given. */
  split: string;
  /** Fingerprint of the eval set's own dataset (core/datasets/descriptor.ts); absent: the sweep's dataset. */
  dataset?: string;
  /** An OOD suite applied to every test image (activities/evaluate/ood.ts). */
  shift?: { suite: string; severity: number; seed: number };
}
