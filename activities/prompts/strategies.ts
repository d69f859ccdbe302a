// Prompt strategies: each turns (config, class names, count, seed) into a deterministic prompt list.
// Prompt i is for class i mod C, so every prefix of the list is class-balanced: the nested
// subsets used for smaller N keep the same class mix as the largest one. Each prompt draws from
// its own rng, createRng(`prompt|${strategy}|${seed}|${index}`), so any prompt can be recomputed
// alone and a longer list extends a shorter one.
import { createRng, type Rng } from '../../core/rng.js';
import { captions } from './captions.js';
import { prepareCaptioner } from '../../core/text/captioner.js';
import { parsePromptConfig, PROMPT_STRATEGY_NAMES, PromptConfigError, type PromptConfig, type PromptConfigInput, type PromptStrategyName } from '../../contracts/spec/prompts.js';
import type { Prompt, PromptContext, PromptProvenance, PromptStrategy } from './types.js';
import { word2sentence } from './word2sentence.js';
import { oneLine, promptClassName } from './class-names.js';
import { classnameDescription, classnameHypernym } from './wordnet-strategies.js';
export { CLIP_IMAGENET_TEMPLATES } from '../../core/text/clip-templates.js';
import { CLIP_IMAGENET_TEMPLATES } from '../../core/text/clip-templates.js';

export type { Prompt, PromptContext, PromptProvenance, PromptStrategy } from './types.js';
export type { PromptStrategyName } from '../../contracts/spec/prompts.js';


/** Strategies that read no external data: their text is a pure function of (class name, rng); any name works, made one bounded line (class-names.ts). */
const STATIC_TEXT = {
  classnames: {
    description: 'the plain class name',
    source: 'class-name',
    text: (className: string, _rng: Rng) => promptClassName(className),
  },
  'clip-templates': {
    description: 'a class name in one of the 80 CLIP ImageNet templates, drawn uniformly per prompt',
    source: 'clip-templates',
    // A function replacement: a class name is inserted as written, never read as a `$&` pattern.
    text: (className: string, rng: Rng) => CLIP_IMAGENET_TEMPLATES[rng.int(CLIP_IMAGENET_TEMPLATES.length)]!.replace('{}', () => promptClassName(className)),
  },
} as const satisfies Record<string, { description: string; source: PromptProvenance['source']; text: (c: string, rng: Rng) => string }>;

type StaticName = keyof typeof STATIC_TEXT;

function staticStrategy<S extends StaticName>(name: S): PromptStrategy<S> {
  const { description, source, text } = STATIC_TEXT[name];
  return {
    description,
    prepare: async (_config, classes) => ({
      provenance: { strategy: name, source, summary: description },
      textFor: (classIndex, _index, rng) => text(classes[classIndex]!, rng),
    }),
  };
}

/** Every strategy, by name (one contract test in test/prompts-registry.test.ts runs them all). */
export const PROMPT_STRATEGY_REGISTRY: { readonly [S in PromptStrategyName]: PromptStrategy<S> } = {
  classnames: staticStrategy('classnames'),
  'clip-templates': staticStrategy('clip-templates'),
  'classname-description': classnameDescription,
  'classname-hypernym': classnameHypernym,
  word2sentence,
  captions,
  'real-captions': {
    description: "the real images' captions: prompt i is the caption of real image i (class i mod C, seeded caption model)",
    async prepare(config, classes, plan, ctx) {
      if (config.source !== undefined) {
        const real = ctx.realCaptions;
        if (!real || real.texts.length === 0) throw new PromptConfigError(`${ctx.field ?? 'prompts'}.source`, `no captions of source '${config.source}' were given; it must be a real-pairs source of the spec`);
        // Prompt i is caption i (wrapping when a failure budget asks for more), for that pair's class.
        const n = real.texts.length;
        return {
          provenance: { strategy: 'real-captions', source: 'real-pairs', summary: `the captions of real-pairs source '${config.source}' (${n} pairs), in order`, captions: n },
          classIndexFor: (index) => {
            const label = real.labels[index % n]!;
            return label < classes.length ? label : index % classes.length;
          },
          textFor: (_classIndex, index) => real.texts[index % n]!,
        };
      }
      const captioner = await prepareCaptioner(classes, { seed: plan.seed });
      return {
        provenance: { strategy: 'real-captions', source: 'built-in-captioner', summary: `real-image captions: ${captioner.provenance.summary}` },
        textFor: (classIndex, index) => captioner.captionFor(classIndex, index),
      };
    },
  },
};

/** A prompt config as parsed, as written in a spec, or just a strategy name (validated on use). */
export type PromptConfigLike = PromptConfigInput | PromptConfig | { strategy: PromptStrategyName } | string;

export interface PromptList {
  prompts: Prompt[];
  provenance: PromptProvenance;
  /** External data the prompts were built from (e.g. LLM sentences), if any. */
  cache?: unknown;
}

function strategyOf(config: PromptConfig): PromptStrategy<PromptStrategyName> {
  // The registry is keyed by the config's own discriminant, so the pair always matches.
  return PROMPT_STRATEGY_REGISTRY[config.strategy] as unknown as PromptStrategy<PromptStrategyName>;
}

function checkPlan(classes: readonly string[], count: number, field: string): void {
  if (classes.length === 0) throw new PromptConfigError(field, 'prompt synthesis needs at least one class name');
  if (!Number.isInteger(count) || count < 0) throw new PromptConfigError(field, `prompt count must be a whole number >= 0, not ${count}`);
}

/** Cache-key inputs beyond the config itself: the identity of the external data a strategy reads. */
export async function promptFingerprint(raw: PromptConfigLike, ctx: PromptContext = {}): Promise<unknown> {
  const config = parsePromptConfig(raw, ctx.field);
  return (await strategyOf(config).fingerprint?.(config, ctx)) ?? null;
}

/**
 * Build the prompt list of any strategy: validate the config, let the strategy prepare (read
 * WordNet, call the LLM, read captions), then draw prompt i for class i mod C with its own rng.
 * Bad config or class metadata throws PromptConfigError naming the field and the fix.
 */
export async function buildPromptList(
  raw: PromptConfigLike,
  classes: readonly string[],
  count: number,
  seed: number,
  ctx: PromptContext = {},
): Promise<PromptList> {
  const field = ctx.field ?? 'prompts';
  const config = parsePromptConfig(raw, field);
  checkPlan(classes, count, field);
  const prepared = await strategyOf(config).prepare(config, classes, { count, seed }, { ...ctx, field });
  const prompts: Prompt[] = [];
  for (let index = 0; index < count; index++) {
    const classIndex = prepared.classIndexFor?.(index) ?? index % classes.length;
    const rng = createRng(`prompt|${config.strategy}|${seed}|${index}`);
    // One line whatever the strategy embeds (class names, captions, LLM text come from users).
    prompts.push({ index, classIndex, text: oneLine(prepared.textFor(classIndex, index, rng)) });
  }
  return { prompts, provenance: prepared.provenance, ...(prepared.cache === undefined ? {} : { cache: prepared.cache }) };
}

/**
 * Synchronous prompt list for the strategies that read no external data (classnames,
 * clip-templates), e.g. for tests and benchmarks; same output as buildPromptList.
 */
export function synthesizePromptList(strategyName: string, classes: readonly string[], count: number, seed: number): Prompt[] {
  const strategy = (STATIC_TEXT as Record<string, (typeof STATIC_TEXT)[StaticName] | undefined>)[strategyName];
  if (!strategy) {
    if ((PROMPT_STRATEGY_NAMES as readonly string[]).includes(strategyName)) {
      throw new Error(`prompt strategy "${strategyName}" reads external data: use buildPromptList (async)`);
    }
    throw new Error(`unknown prompt strategy "${strategyName}"; known: ${PROMPT_STRATEGY_NAMES.join(', ')}`);
  }
  checkPlan(classes, count, 'prompts');
  const prompts: Prompt[] = [];
  for (let index = 0; index < count; index++) {
    const classIndex = index % classes.length;
    const rng = createRng(`prompt|${strategyName}|${seed}|${index}`);
    prompts.push({ index, classIndex, text: strategy.text(classes[classIndex]!, rng) });
  }
  return prompts;
}
