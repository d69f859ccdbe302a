// The sweep spec: a YAML/JSON file validated into typed config before any workflow starts.
import { z } from 'zod';
import { MODEL_ARCHS } from '../../core/nn/models/names.js';
import { DatasetSchema, ImageGeometrySchema, ImportedDatasetSchema, maxShardBytesField, shardListIssue, splitName } from './datasets.js';
import { TASK_NAMES } from '../tasks.js';
import { A1111GeneratorSchema, OpenAiImagesGeneratorSchema } from './generators.js';
import { PromptConfigSchema, PROMPT_STRATEGY_NAMES } from './prompts.js';
import { OodSelectionSchema } from './ood.js';
import { ClipTrainingSchema } from './clip.js';
import { CostPricesSchema } from './cost.js';
import { totalCells } from '../grid.js';
import { adaptiveSpecIssues } from '../adaptive.js';
import { AdaptiveSchema } from './adaptive.js';
import { expandGeneratorPreset, presetField } from './generator-presets.js';
import { specErrorOf } from './errors.js';
import { specIssuesOf, type Locate } from './issues.js';
import { readSpecText } from './text.js';

export { SpecError, type SpecIssue } from './errors.js';

/**
 * What one sweep may hold: far more than a study needs (the paper's rerun, specs/paper.yaml, is
 * 28 sources x 6 sizes x 3 seeds = 504 cells), few enough that a mistyped spec cannot plan a
 * million cells or a history no server keeps.
 */
export const SPEC_LIMITS = { sources: 256, sizes: 64, seeds: 64, cells: 20_000 } as const;

const SPLIT_HINT = 'split the study into several sweeps (each its own sweepId)';

/** zod's too_big error for a list, naming its length, the cap and the fix. */
function listCap(field: string, cap: number, fix: string) {
  return {
    error: (issue: { input?: unknown }) =>
      `${field} has ${Array.isArray(issue.input) ? issue.input.length : 'too many'} entries; at most ${cap} fit one sweep: ${fix}`,
  };
}

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'use 1-63 lowercase letters, digits and dashes, starting with a letter or digit');

export const PROMPT_STRATEGIES = PROMPT_STRATEGY_NAMES;

/**
 * The embedded generator. Its capacity (PCA dimensions x mixture components per class) is its
 * "model": e.g. { pcaDims: 8, componentsPerClass: 1 } is a much weaker generator than the default,
 * so one sweep can compare generators the way the paper compares Stable Diffusion, Imagen and Muse.
 */
export const EmbeddedGeneratorSchema = z
  .object({
    name: z.literal('embedded-gmm').describe('the embedded CPU text-to-image generator'),
    preset: presetField,
    pcaDims: z.number().int().min(4).max(256).default(48),
    componentsPerClass: z.number().int().min(1).max(64).default(12),
    steps: z.number().int().min(2).max(1000).default(40),
    fitSeed: z.number().int().default(0),
    fitImages: z
      .number()
      .int()
      .min(100)
      .max(30000)
      .default(10000)
      .describe("real training images the generator is fitted on, from the dataset's generator split (disjoint from every real pool of the sweep)"),
  })
  .strict();

/** The embedded generator with its defaults: what a synthetic or control source gets when it names none. */
export const DEFAULT_EMBEDDED_GENERATOR = { name: 'embedded-gmm', pcaDims: 48, componentsPerClass: 12, steps: 40, fitSeed: 0, fitImages: 10000 } as const;

/**
 * The second embedded family: a learned MLP epsilon-denoiser trained in TF.js in the same PCA
 * space, conditioned on the same text encoding, with condition dropout so classifier-free guidance
 * is the real thing (eps_u + s (eps_c - eps_u)). Its errors are a learned model's (smoothing,
 * dropped modes), where the mixture samples its fit exactly.
 */
export const EmbeddedDenoiserGeneratorSchema = z
  .object({
    name: z.literal('embedded-denoiser').describe('the embedded neural generator: an MLP epsilon-denoiser trained in TF.js in the embedded PCA space'),
    preset: presetField,
    pcaDims: z.number().int().min(4).max(256).default(48),
    hidden: z.array(z.number().int().min(8).max(4096)).min(1).max(8).default([256, 256, 256]).describe('hidden layer widths of the MLP'),
    trainSteps: z.number().int().min(1).max(1_000_000).default(3000),
    batchSize: z.number().int().min(1).max(8192).default(256),
    learningRate: z.number().positive().max(0.1).default(1e-3),
    condDropout: z.number().gt(0).lt(1).default(0.15).describe('share of training steps with the null condition, which classifier-free guidance needs'),
    steps: z.number().int().min(2).max(1000).default(40).describe('DDIM sampling steps'),
    fitSeed: z.number().int().default(0),
    fitImages: z
      .number()
      .int()
      .min(100)
      .max(30000)
      .default(10000)
      .describe("real training images the generator is trained on, from the dataset's generator split (disjoint from every real pool of the sweep)"),
    checkpointEvery: z.number().int().min(1).max(1_000_000).default(500).describe('training steps between checkpoints (a killed fit resumes from the last)'),
  })
  .strict();

/** The embedded generators (either family), or a text-to-image server over the A1111 or OpenAI images API; `{ preset }` names one. */
export const GeneratorSchema = z.preprocess(
  expandGeneratorPreset,
  z.discriminatedUnion('name', [EmbeddedGeneratorSchema, EmbeddedDenoiserGeneratorSchema, A1111GeneratorSchema, OpenAiImagesGeneratorSchema]),
);

/** Where img2dataset-layout pair shards live: file:// or gs:// URIs, with WebDataset brace ranges. */
const shardUri = z
  .string()
  .max(2000)
  .regex(/^(file|gs):\/\/\S+\.tar$/, 'use a file:// or gs:// URI of a .tar shard, e.g. gs://bucket/laion/{00000..00099}.tar');

export const RealPairsSourceSchema = z
  .object({
    name,
    kind: z.literal('real-pairs').describe('real images with their captions, for CLIP cells'),
    shards: z
      .array(shardUri)
      .min(1)
      .max(10000)
      .superRefine(shardListIssue)
      .optional()
      .describe(
        "img2dataset-layout WebDataset shards ({key}.jpg|png|webp + {key}.txt + {key}.json), read in order; '{00000..00099}' ranges expand. Default: pairs built from Fashion-MNIST with the seeded caption model",
      ),
    maxShardBytes: maxShardBytesField,
  })
  .strict();

export const SourceSchema = z.discriminatedUnion('kind', [
  z.object({ name, kind: z.literal('real') }).strict(),
  RealPairsSourceSchema,
  z
    .object({
      name,
      kind: z.literal('synthetic'),
      generator: GeneratorSchema.default(DEFAULT_EMBEDDED_GENERATOR),
      prompts: PromptConfigSchema,
      cfgScale: z.number().min(0).max(50),
    })
    .strict(),
  z
    .object({
      name,
      kind: z
        .literal('control')
        .describe(
          "the real source's images passed through the embedded generator's representation (PCA projection and reconstruction): the part of the real-synthetic gap the representation explains",
        ),
      // The control is the mixture family's PCA round trip (a denoiser's PCA is the same basis).
      generator: z.preprocess(expandGeneratorPreset, EmbeddedGeneratorSchema).default(DEFAULT_EMBEDDED_GENERATOR),
    })
    .strict(),
  z
    .object({
      name,
      kind: z.literal('mixed').describe("real N plus synthetic images: the paper's mixing runs; N on the size grid is the real count"),
      real: name.describe('name of a real or real-pairs source in this spec'),
      synthetic: name.describe('name of a synthetic source in this spec'),
      syntheticPerReal: z.number().positive().max(100).optional().describe('N_s = round(syntheticPerReal x N)'),
      syntheticImages: z.number().int().min(1).max(1_000_000).optional().describe('N_s fixed for every N'),
    })
    .strict()
    .refine((m) => (m.syntheticPerReal === undefined) !== (m.syntheticImages === undefined), {
      message: 'give exactly one of syntheticPerReal (N_s = ratio x N) or syntheticImages (fixed N_s)',
    }),
]);

export const TrainingSchema = z
  .object({
    model: z
      .enum(MODEL_ARCHS)
      .default('mlp')
      .describe("'mlp': dense ReLU layers of widths hidden; 'cnn': conv3x3(16)-pool-conv3x3(32)-pool, then dense layers of widths hidden"),
    hidden: z.array(z.number().int().min(1).max(4096)).max(4).default([256]),
    resnet: z
      .object({
        depth: z
          .number()
          .int()
          .min(8)
          .max(110)
          .refine((d) => (d - 2) % 6 === 0, 'depth is 6n+2 (3 stages of n basic blocks of two 3x3 convolutions, plus stem and head): 8, 14, 20, 32, 44, 56, 110')
          .default(20),
        width: z.number().int().min(4).max(256).default(16).describe('filters of the first stage; doubled at each of the next two (stride 2)'),
      })
      .strict()
      .optional()
      .describe("model 'resnet': a CIFAR-style ResNet (He et al. 2016, sec. 4.2) with batch norm, depth 20 and width 16 when not given; hidden is ignored. Optional so mlp and cnn recipes (and their cells' keys) stay as they were"),
    augment: z
      .object({
        crop: z.number().int().min(0).max(32).default(4).describe('random crop after zero-padding by this many pixels on each side (0: none)'),
        flip: z.boolean().default(true).describe('random horizontal flip'),
      })
      .strict()
      .optional()
      .describe("training-time augmentation, drawn from the cell's seed (default: crop 4 and flip for 'resnet', none for 'mlp' and 'cnn')"),
    epochs: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(30)
      .describe('passes over the training images at every N (the same regime at every N; early stopping may end sooner)'),
    minSteps: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('train at least this many steps; above 0, small N get more epochs than large N, which changes the regime across N'),
    schedule: z.enum(['constant', 'cosine']).default('cosine').describe('learning rate over the planned steps: constant, or cosine decay to 0'),
    weightDecay: z.number().min(0).max(1).default(0.0001).describe('decoupled weight decay (AdamW) per step, times the learning rate'),
    validationFraction: z
      .number()
      .min(0)
      .max(0.5)
      .default(0.1)
      .describe("held out from the cell's own N training images (synthetic sources validate on their own images) for early stopping; 0: none"),
    patience: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(5)
      .describe('stop after this many epochs without a lower validation loss, keeping the best epoch (0: never stop early)'),
    batchSize: z.number().int().min(1).max(4096).default(128),
    learningRate: z.number().positive().max(1).default(0.001),
    checkpointEvery: z.number().int().min(1).default(500),
    shuffleWindow: z
      .number()
      .int()
      .min(1)
      .default(16384)
      .describe('examples shuffled together: N up to this gets a full shuffle each epoch; larger N shuffles shards, then examples within windows of this many'),
    backend: z.enum(['auto', 'wasm', 'cpu', 'tensorflow']).default('auto'),
  })
  .strict();

export const SweepSpecSchema = z
  .object({
    sweepId: name,
    dataset: DatasetSchema.describe(
      "the dataset whose classes the sweep studies: a built-in one by name (core/datasets/registry.ts), or the lab's own images: { kind: imagefolder, root } or { kind: webdataset, splits } (contracts/spec/datasets.ts)",
    ),
    image: ImageGeometrySchema.optional().describe(
      "the geometry every stage works at, e.g. { size: 32, channels: 3 } (default: a built-in dataset's own, 32x32 RGB for the lab's images); images are brought to it by the resize rule: shorter side to size, then a centre crop",
    ),
    sources: z
      .array(SourceSchema)
      .min(1)
      .max(SPEC_LIMITS.sources, listCap('sources', SPEC_LIMITS.sources, SPLIT_HINT))
      .refine((s) => new Set(s.map((x) => x.name)).size === s.length, 'source names must be unique')
      .superRefine((sources, ctx) => {
        sources.forEach((source, i) => {
          if (source.kind === 'synthetic' && source.prompts.strategy === 'real-captions' && source.prompts.source !== undefined) {
            const from = source.prompts.source;
            if (sources.find((s) => s.name === from)?.kind !== 'real-pairs') {
              ctx.addIssue({
                code: 'custom',
                path: [i, 'prompts', 'source'],
                message: `'${from}' is not a real-pairs source of this spec (real-pairs sources: ${sources.filter((s) => s.kind === 'real-pairs').map((s) => s.name).join(', ') || 'none'})`,
              });
            }
          }
          if (source.kind !== 'mixed') return;
          for (const part of ['real', 'synthetic'] as const) {
            const target = sources.find((s) => s.name === source[part]);
            const fits = part === 'real' ? target?.kind === 'real' || target?.kind === 'real-pairs' : target?.kind === 'synthetic';
            if (!fits) {
              const kinds = part === 'real' ? ['real', 'real-pairs'] : ['synthetic'];
              ctx.addIssue({
                code: 'custom',
                path: [i, part],
                message: `'${source[part]}' is not a ${kinds.join(' or ')} source of this spec (such sources: ${sources.filter((s) => kinds.includes(s.kind)).map((s) => s.name).join(', ') || 'none'})`,
              });
            }
          }
        });
      }),
    sizes: z
      .array(z.number().int().min(10).max(1_000_000).describe("at most the dataset's real pool (half its training split; the other half is the generators'), checked when the sweep is planned"))
      .min(1)
      .max(SPEC_LIMITS.sizes, listCap('sizes', SPEC_LIMITS.sizes, `a scaling curve needs 5-20 sizes; ${SPLIT_HINT}`))
      .refine((s) => new Set(s).size === s.length, 'sizes must be unique'),
    seeds: z
      .array(z.number().int().min(0))
      .min(1)
      .max(SPEC_LIMITS.seeds, listCap('seeds', SPEC_LIMITS.seeds, `a handful of seeds gives the error bars; ${SPLIT_HINT}`))
      .refine((s) => new Set(s).size === s.length, 'seeds must be unique'),
    generation: z
      .object({
        shardSize: z.number().int().min(1).max(100000).default(1000),
        seed: z.number().int().default(0),
        maxConcurrentShards: z.number().int().min(1).max(256).default(4),
        failureBudget: z
          .number()
          .min(0)
          .max(0.5)
          .default(0.02)
          .describe('fraction of items allowed to fail for good; that many extra images are generated'),
      })
      .strict()
      .default({ shardSize: 1000, seed: 0, maxConcurrentShards: 4, failureBudget: 0.02 }),
    training: TrainingSchema.default(TrainingSchema.parse({})),
    tasks: z
      .array(z.enum(TASK_NAMES))
      .min(1)
      .default(['classifier'])
      .refine((t) => new Set(t).size === t.length, 'tasks must be unique')
      .describe("what each (source, N, seed) cell trains: 'classifier' (labels) and/or 'clip' (image-caption pairs, zero-shot evaluation)"),
    clip: ClipTrainingSchema.default(ClipTrainingSchema.parse({})).describe('the CLIP recipe, for cells of task clip'),
    eval: z
      .array(
        z
          .object({
            name,
            split: splitName.default('test').describe("a split of the sweep's dataset, or of this entry's dataset"),
            dataset: ImportedDatasetSchema.optional().describe(
              "another dataset with the same class names (an image folder or labelled shards): the analogue of the paper's ImageNet-Sketch and ImageNet-R",
            ),
          })
          .strict(),
      )
      .min(1)
      .max(32)
      .refine((e) => new Set(e.map((x) => x.name)).size === e.length, 'eval set names must be unique')
      .default([{ name: 'test', split: 'test' }]),
    cost: CostPricesSchema.optional().describe("prices for the report's cost section, e.g. { cpuHourUsd: 0.05, gpuHourUsd: 2.5 }"),
    ood: OodSelectionSchema.default([]).describe(
      "out-of-distribution eval suites (corrupted real test images), each reported separately: 'default', 'none' or a list of { suite, severity }",
    ),
    recognizability: z
      .object({
        judgeImages: z.number().int().min(100).max(60000).default(20000).describe('real images the judge classifier trains on'),
        judge: TrainingSchema.partial().default({}).describe('training overrides for the judge (default: the sweep recipe)'),
        images: z.number().int().min(10).max(1_000_000).optional().describe('generated images judged per source (default: the largest N)'),
      })
      .strict()
      .optional()
      .describe("the paper's recognizability analysis: a classifier trained on real images labels each source's generated images"),
    seedDraws: z
      .enum(['data', 'init'])
      .default('data')
      .describe(
        "what a seed redraws: 'data' (its own real subset, its own synthetic images, and the initialisation) or 'init' (initialisation and batch order only)",
      ),
    analysis: z
      .object({
        bootstrapDraws: z.number().int().min(200).max(100000).default(2000).describe('bootstrap resamples of seeds within each N'),
        bootstrapSeed: z.number().int().default(0),
        minSizes: z.number().int().min(2).max(100).default(5).describe('fewer distinct N: the slope is withheld'),
        minDecades: z.number().min(0).max(6).default(1.5).describe('a smaller span of N (log10 max/min): the slope is withheld'),
        minR2: z.number().min(0).max(1).default(0.9).describe('a power law fitting the per-N means worse than this: the slope is withheld'),
      })
      .strict()
      .default({ bootstrapDraws: 2000, bootstrapSeed: 0, minSizes: 5, minDecades: 1.5, minR2: 0.9 }),
    adaptive: AdaptiveSchema.optional().describe(
      'an adaptive sweep: sizes and seeds become the envelope the loop may use; it runs a first grid (initial), then picks cells until every target interval is as narrow as wanted or the budget is spent',
    ),
    maxConcurrentCells: z.number().int().min(1).max(500).default(4),
    cellsPerRun: z
      .number()
      .int()
      .min(10)
      .max(2000)
      .default(500)
      .describe('cells per workflow run before continue-as-new (about 7.3 history events each)'),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const cells = totalCells(spec);
    if (cells > SPEC_LIMITS.cells) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `the grid has ${cells} cells (${spec.sources.length} sources x tasks x ${spec.sizes.length} sizes x ${spec.seeds.length} seeds); at most ${SPEC_LIMITS.cells} fit one sweep: ${SPLIT_HINT}, e.g. one per group of sources, or use fewer sizes or seeds`,
      });
    }
    if (spec.adaptive) {
      for (const issue of adaptiveSpecIssues(spec, spec.adaptive)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    }
    if (spec.recognizability && !spec.sources.some((s) => s.kind === 'real')) {
      ctx.addIssue({ code: 'custom', path: ['recognizability'], message: 'needs a real source to train its judge on: add { name: real, kind: real } to sources' });
    }
    if (!spec.tasks.includes('clip')) {
      spec.sources.forEach((source, i) => {
        if (source.kind === 'real-pairs') {
          ctx.addIssue({ code: 'custom', path: ['sources', i, 'kind'], message: "real-pairs sources train CLIP only: add clip to tasks (tasks: [classifier, clip])" });
        }
      });
    }
    spec.eval.forEach((entry, i) => {
      if (entry.dataset || typeof spec.dataset === 'string') return;
      if (entry.split === 'train') ctx.addIssue({ code: 'custom', path: ['eval', i, 'split'], message: "the train split is what sweeps train on: evaluate on another split (e.g. test)" });
      if (spec.dataset.kind === 'webdataset' && !(entry.split in spec.dataset.splits)) {
        ctx.addIssue({ code: 'custom', path: ['eval', i, 'split'], message: `dataset.splits has no '${entry.split}' (it has: ${Object.keys(spec.dataset.splits).join(', ')})` });
      }
    });
    if (typeof spec.dataset !== 'string' && spec.dataset.kind === 'webdataset' && !('train' in spec.dataset.splits)) {
      ctx.addIssue({ code: 'custom', path: ['dataset', 'splits'], message: "name the training shards as splits.train (the real pool and the generators' split are drawn from it)" });
    }
    if (typeof spec.dataset === 'string' && spec.eval.some((e) => !e.dataset && e.split !== 'test')) {
      const i = spec.eval.findIndex((e) => !e.dataset && e.split !== 'test');
      ctx.addIssue({ code: 'custom', path: ['eval', i, 'split'], message: `the built-in dataset ${spec.dataset} has the evaluation split 'test' only` });
    }
    const evalNames = spec.eval.map((e) => e.name);
    for (const [i, name] of evalNames.entries()) {
      if (name.startsWith('ood-')) ctx.addIssue({ code: 'custom', path: ['eval', i, 'name'], message: "names starting with 'ood-' are kept for the ood suites" });
    }
  });

export type SweepSpecInput = z.input<typeof SweepSpecSchema>;
export type SweepSpec = z.output<typeof SweepSpecSchema>;
export type SourceSpec = SweepSpec['sources'][number];
export type RealSourceSpec = Extract<SourceSpec, { kind: 'real' }>;
export type SyntheticSourceSpec = Extract<SourceSpec, { kind: 'synthetic' }>;
export type ControlSourceSpec = Extract<SourceSpec, { kind: 'control' }>;
export type MixedSourceSpec = Extract<SourceSpec, { kind: 'mixed' }>;
export type RealPairsSourceSpec = Extract<SourceSpec, { kind: 'real-pairs' }>;

export type GeneratorSpec = z.output<typeof GeneratorSchema>;
export type EmbeddedGeneratorSpec = z.output<typeof EmbeddedGeneratorSchema>;
export type EmbeddedDenoiserGeneratorSpec = z.output<typeof EmbeddedDenoiserGeneratorSchema>;
export type TrainingRecipe = z.output<typeof TrainingSchema>;

/**
 * Validate a parsed object. Each problem names its field (sources and eval sets by name), suggests
 * the known key or value a misspelt one was meant to be, and, with `locate` (a spec read from
 * text), says its line and column.
 */
export function validateSpec(raw: unknown, origin = 'spec', locate?: Locate): SweepSpec {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    const what = raw === null || raw === undefined ? 'empty' : Array.isArray(raw) ? 'a list' : `a ${typeof raw}`;
    const where = locate?.([], 'value');
    const hint = `the spec is ${what}: a spec is a mapping with sweepId, dataset, sources, sizes and seeds (see specs/demo.yaml)`;
    throw specErrorOf(origin, [{ path: '(root)', message: hint, ...(where ? { line: where.line, column: where.column } : {}) }]);
  }
  const result = SweepSpecSchema.safeParse(raw);
  if (result.success) return result.data;
  const { issues, total } = specIssuesOf(SweepSpecSchema, result.error.issues, raw, locate);
  throw specErrorOf(origin, issues, total);
}

/** Parse a spec's text (JSON when `origin` ends in .json, else YAML) and validate it; errors say file:line:col. */
export function parseSpecText(text: string, origin: string): SweepSpec {
  const { raw, locate } = readSpecText(text, origin);
  return validateSpec(raw, origin, locate);
}
