// Diversity and fidelity of a source's generated images as the recognizability judge sees them:
// both sides are subsampled (seeded) before their features are computed, so the cost stays bounded,
// and the real side is always the same fixed subset of the dataset's test split.
import { classVendiScore, DIVERSITY_K, DIVERSITY_MAX_SAMPLES, diversityMetrics, subsampleIndices, type DiversityMetrics, type DiversityOptions } from '../../core/stats/diversity.js';
import { predictFeatures } from '../../core/nn/features.js';
import type { SerializedClassifier } from '../../core/nn/classifier.js';
import type { ImageGeometry } from '../../core/image/geometry.js';

/** What the real reference is; part of the recognizability result's key. */
export const DIVERSITY_REFERENCE = { split: 'test', images: DIVERSITY_MAX_SAMPLES, k: DIVERSITY_K, seed: 'diversity|real-reference' } as const;

interface Images {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  /** When given, checked against the judge's (core/nn: the images must be what it reads). */
  geometry?: ImageGeometry;
}

/** The metrics of `generated` against `real` in the judge's penultimate layer; undefined when a side has k or fewer images. */
export async function judgeDiversity(
  judge: SerializedClassifier,
  generated: Images,
  real: Images,
  beforeStep?: DiversityOptions['beforeStep'],
): Promise<DiversityMetrics | undefined> {
  if (generated.count <= DIVERSITY_K || real.count <= DIVERSITY_K) return undefined;
  const realIndices = subsampleIndices(real.count, DIVERSITY_REFERENCE.images, DIVERSITY_REFERENCE.seed);
  const generatedIndices = subsampleIndices(generated.count, DIVERSITY_MAX_SAMPLES, 'diversity|generated');
  const realFeatures = await predictFeatures(judge, real.images, realIndices.length, { indices: realIndices, ...(real.geometry ? { geometry: real.geometry } : {}) });
  const generatedFeatures = await predictFeatures(judge, generated.images, generatedIndices.length, {
    indices: generatedIndices,
    ...(generated.geometry ? { geometry: generated.geometry } : {}),
  });
  const metrics = await diversityMetrics(realFeatures, generatedFeatures, { k: DIVERSITY_K, maxSamples: DIVERSITY_MAX_SAMPLES, ...(beforeStep ? { beforeStep } : {}) });
  // Within-class diversity: generated images by the class they were generated for, real by their label.
  const labelsAt = (labels: Uint8Array, rows: Uint32Array) => Uint8Array.from(rows, (row) => labels[row]!);
  return {
    ...metrics,
    classVendi: classVendiScore(generatedFeatures, labelsAt(generated.labels, generatedIndices)),
    realClassVendi: classVendiScore(realFeatures, labelsAt(real.labels, realIndices)),
  };
}
