// The sweep spec: a YAML/JSON file validated into typed config before any workflow starts.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'use 1-63 lowercase letters, digits and dashes, starting with a letter or digit');

export const PROMPT_STRATEGIES = ['classnames', 'clip-templates'] as const;

export const GeneratorSchema = z
  .object({
    name: z.literal('embedded-gmm').describe('the embedded CPU text-to-image generator'),
    pcaDims: z.number().int().min(4).max(256).default(48),
    componentsPerClass: z.number().int().min(1).max(64).default(12),
    steps: z.number().int().min(2).max(1000).default(40),
    fitSeed: z.number().int().default(0),
  })
  .strict();

export const SourceSchema = z.discriminatedUnion('kind', [
  z.object({ name, kind: z.literal('real') }).strict(),
  z
    .object({
      name,
      kind: z.literal('synthetic'),
      generator: GeneratorSchema.default({ name: 'embedded-gmm', pcaDims: 48, componentsPerClass: 12, steps: 40, fitSeed: 0 }),
      prompts: z.object({ strategy: z.enum(PROMPT_STRATEGIES) }).strict(),
      cfgScale: z.number().min(0).max(50),
    })
    .strict(),
]);

export const TrainingSchema = z
  .object({
    model: z
      .enum(['mlp', 'cnn'])
      .default('mlp')
      .describe("'mlp': dense ReLU layers of widths hidden; 'cnn': conv3x3(16)-pool-conv3x3(32)-pool, then dense layers of widths hidden"),
    hidden: z.array(z.number().int().min(1).max(4096)).max(4).default([256]),
    epochs: z.number().int().min(1).max(1000).default(10),
    minSteps: z.number().int().min(0).default(200).describe('train at least this many steps, so tiny N is not under-trained'),
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
    dataset: z.literal('fashion-mnist'),
    sources: z
      .array(SourceSchema)
      .min(1)
      .refine((s) => new Set(s.map((x) => x.name)).size === s.length, 'source names must be unique'),
    sizes: z
      .array(z.number().int().min(10).max(60000))
      .min(1)
      .refine((s) => new Set(s).size === s.length, 'sizes must be unique'),
    seeds: z.array(z.number().int().min(0)).min(1).refine((s) => new Set(s).size === s.length, 'seeds must be unique'),
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
    eval: z
      .array(z.object({ name, split: z.literal('test') }).strict())
      .min(1)
      .default([{ name: 'test', split: 'test' }]),
    maxConcurrentCells: z.number().int().min(1).max(500).default(4),
    cellsPerRun: z
      .number()
      .int()
      .min(10)
      .max(2000)
      .default(500)
      .describe('cells per workflow run before continue-as-new (about 7.3 history events each)'),
  })
  .strict();

export type SweepSpecInput = z.input<typeof SweepSpecSchema>;
export type SweepSpec = z.output<typeof SweepSpecSchema>;
export type SourceSpec = SweepSpec['sources'][number];
export type SyntheticSourceSpec = Extract<SourceSpec, { kind: 'synthetic' }>;
export type GeneratorSpec = z.output<typeof GeneratorSchema>;
export type TrainingRecipe = z.output<typeof TrainingSchema>;

export class SpecError extends Error {
  readonly code = 'E_INVALID_SPEC';
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(message);
  }
}

/** Validate a parsed object; errors name each offending field by its dotted path. */
export function validateSpec(raw: unknown, origin = 'spec'): SweepSpec {
  const result = SweepSpecSchema.safeParse(raw);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
  const lines = issues.map((i) => `  ${i.path}: ${i.message}`).join('\n');
  throw new SpecError(`${origin} is invalid:\n${lines}`, issues);
}

export function parseSpecText(text: string, origin: string): SweepSpec {
  let raw: unknown;
  try {
    raw = origin.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new SpecError(`${origin} is not valid ${origin.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`, [
      { path: '(root)', message: 'parse error' },
    ]);
  }
  return validateSpec(raw, origin);
}

export async function loadSpecFile(path: string): Promise<SweepSpec> {
  const text = await readFile(path, 'utf8');
  if (text.length > 1024 * 1024) throw new SpecError(`${path} is larger than 1 MiB; a sweep spec is a few KB`, []);
  return parseSpecText(text, path);
}
