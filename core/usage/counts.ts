// What an activity attempt's result says it did, for throughput: images and training steps.
// Only numeric fields are read, and nothing else of the input or result is kept.
//   imagesSampled  (generateShard): images this attempt generated
//   stepsRun       (trainClassifier, trainClipCell): steps this attempt ran; x the input's
//                  recipe.batchSize, the images it trained on
//   cached         the result came from the store, no work redone

export interface AttemptCounts {
  images?: number;
  steps?: number;
  cached?: boolean;
}

function field(value: unknown, name: string): unknown {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[name] : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

export function countsOf(args: readonly unknown[], result: unknown): AttemptCounts {
  const out: AttemptCounts = {};
  const cached = field(result, 'cached');
  if (typeof cached === 'boolean') out.cached = cached;
  const steps = count(field(result, 'stepsRun'));
  if (steps !== undefined) out.steps = steps;
  const sampled = count(field(result, 'imagesSampled'));
  const batchSize = count(field(field(args[0], 'recipe'), 'batchSize'));
  if (sampled !== undefined) out.images = sampled;
  else if (steps !== undefined && batchSize !== undefined) out.images = steps * batchSize;
  return out;
}
