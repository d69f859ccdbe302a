// Zero-shot classification with a trained dual encoder, as CLIP evaluates: each class is the
// text embedding of prompts naming it, each image goes to the class of highest cosine
// similarity, and the loss is the cross-entropy of softmax(exp(logitScale) · cos) over classes.
// Two class embeddings are reported separately (paper.md: the paper's zero-shot numbers use the
// 80-template ensemble):
//  - 'single': the one template 'a photo of a {}.';
//  - 'ensemble': CLIP's 80 ImageNet templates, each embedding normalised, averaged and
//    renormalised (Radford et al. 2021's prompt ensembling).
// The metrics (loss, top-1 accuracy, ECE, per-class accuracy, confusion) come from the
// classifier's evaluation (metricsFromLogits), so both kinds of model report alike.
import { metricsFromLogits, type EvalMetrics, type LabelledImages } from '../../core/nn/metrics.js';
import { CLIP_IMAGENET_TEMPLATES } from '../../core/text/clip-templates.js';
import { encodeImages, encodeTexts, type ClipInferenceOptions } from './inference.js';
import { checkClip, type SerializedClip } from './model.js';

export const SINGLE_TEMPLATE = 'a photo of a {}.';
export { CLIP_IMAGENET_TEMPLATES };

export interface ZeroShotReport {
  single: EvalMetrics & { templates: number };
  ensemble: EvalMetrics & { templates: number };
  /** The model's ln(1/τ); the logits are exp(logitScale) · cos. */
  logitScale: number;
  classNames: string[];
}

/** A template with every '{}' replaced by the class name. */
export function fillTemplate(template: string, className: string): string {
  return template.split('{}').join(className);
}

function normalized(v: ArrayLike<number>): Float64Array {
  let norm = 0;
  for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!;
  norm = Math.sqrt(norm);
  const out = new Float64Array(v.length);
  if (norm > 0) for (let i = 0; i < v.length; i++) out[i] = v[i]! / norm;
  return out;
}

/**
 * Class embeddings: per class, the normalised mean of the normalised text embeddings of its
 * prompts (one template: just that prompt's embedding).
 */
export async function classEmbeddings(
  model: SerializedClip,
  classNames: readonly string[],
  templates: readonly string[],
  opts: ClipInferenceOptions = {},
): Promise<Float64Array[]> {
  if (classNames.length < 1 || templates.length < 1) throw new Error('need at least one class name and one template');
  const prompts = classNames.flatMap((name) => templates.map((t) => fillTemplate(t, name)));
  const dim = model.config.embedDim;
  const texts = await encodeTexts(model, prompts, opts);
  return classNames.map((_, c) => {
    const mean = new Float64Array(dim);
    for (let t = 0; t < templates.length; t++) {
      const e = normalized(texts.subarray((c * templates.length + t) * dim, (c * templates.length + t + 1) * dim));
      for (let i = 0; i < dim; i++) mean[i]! += e[i]!;
    }
    return normalized(mean);
  });
}

/**
 * Zero-shot metrics of image embeddings against class embeddings (any scale; both are
 * normalised here, so the score is the cosine): logits[r][c] = exp(logitScale) · cos(image r, class c).
 * Pure float64; ties go to the lower class index.
 */
export function zeroShotFromEmbeddings(
  imageEmb: readonly ArrayLike<number>[],
  classEmb: readonly ArrayLike<number>[],
  labels: ArrayLike<number>,
  logitScale: number,
): EvalMetrics {
  const count = imageEmb.length;
  const classes = classEmb.length;
  if (count < 1) throw new Error('zero-shot: no images');
  if (classes < 1) throw new Error('zero-shot: no classes');
  if (labels.length < count) throw new Error(`zero-shot: ${labels.length} labels for ${count} images`);
  if (!Number.isFinite(logitScale)) throw new Error(`zero-shot: logitScale ${logitScale} is not finite`);
  const dim = classEmb[0]!.length;
  const cls = classEmb.map((e, c) => {
    if (e.length !== dim) throw new Error(`zero-shot: class embedding ${c} has ${e.length} values, expected ${dim}`);
    return normalized(e);
  });
  const scale = Math.exp(logitScale);
  const logits = new Float64Array(count * classes);
  imageEmb.forEach((e, r) => {
    if (e.length !== dim) throw new Error(`zero-shot: image embedding ${r} has ${e.length} values, expected ${dim}`);
    const x = normalized(e);
    for (let c = 0; c < classes; c++) {
      const w = cls[c]!;
      let dot = 0;
      for (let i = 0; i < dim; i++) dot += x[i]! * w[i]!;
      logits[r * classes + c] = scale * dot;
    }
  });
  return metricsFromLogits(logits, labels, count, classes);
}

/**
 * Zero-shot top-1 and loss of `model` on a labelled set (e.g. the real Fashion-MNIST test split),
 * with the single template and with the template ensemble (`templates`, default CLIP's 80).
 * `classNames[k]` is the name put in the prompts for label k.
 */
export async function evaluateZeroShot(
  model: SerializedClip,
  test: LabelledImages,
  classNames: readonly string[],
  opts: ClipInferenceOptions & { templates?: readonly string[]; singleTemplate?: string } = {},
): Promise<ZeroShotReport> {
  checkClip(model);
  if (test.count < 1) throw new Error('cannot evaluate on an empty set');
  if (test.labels.length < test.count) throw new Error(`${test.labels.length} labels for ${test.count} images`);
  const singleTemplate = opts.singleTemplate ?? SINGLE_TEMPLATE;
  const templates = opts.templates ?? CLIP_IMAGENET_TEMPLATES;
  const dim = model.config.embedDim;
  const flat = await encodeImages(model, test.images, test.count, { ...opts, ...(test.geometry ? { geometry: test.geometry } : {}) });
  const images = Array.from({ length: test.count }, (_, r) => flat.subarray(r * dim, (r + 1) * dim));
  const labels = test.labels.subarray(0, test.count);
  const logitScale = model.weights[model.weights.length - 1]![0]!;
  const single = zeroShotFromEmbeddings(images, await classEmbeddings(model, classNames, [singleTemplate], opts), labels, logitScale);
  const ensemble = zeroShotFromEmbeddings(images, await classEmbeddings(model, classNames, templates, opts), labels, logitScale);
  return {
    single: { ...single, templates: 1 },
    ensemble: { ...ensemble, templates: templates.length },
    logitScale,
    classNames: [...classNames],
  };
}
