// classname-description ("{name}, {gloss}") and classname-hypernym ("{name}, a type of {hypernym}"):
// the class name with text from its WordNet 3.0 synset. The synset of each class comes from the
// config's `synsets`, else the dataset's WordNet id (wnid "n01440764": noun synset 01440764 of
// WordNet 3.0, as ImageNet numbers its classes), else the built-in class metadata
// (core/datasets/fashion-mnist-classes.ts); a class with none is an error that names the fix.
// A dataset's wnid comes before the built-in table because that table is keyed by class name only:
// Fashion-MNIST gives no wnids, so its prompts are unchanged. Templates, synsets (when a class has
// several) and lemmas are drawn with the prompt's rng.
// No gloss, lemma or hypernym that names another class of the dataset is used (the captioner's
// filter, namesNoOtherClass): T-shirt's gloss "a close-fitting pullover shirt" names Pullover and
// Shirt, so its description takes the gloss of its nearest hypernym that names none (shirt's).
import { fashionMnistClassInfo } from '../../core/datasets/fashion-mnist-classes.js';
import { PromptConfigError, type PromptConfigOf } from '../../contracts/spec/prompts.js';
import type { PromptContext, PromptStrategy } from './types.js';
import { defaultWordnetDir, openWordNet, wordnetPackageVersion, WORDNET_PACKAGE, type Synset, type WordNetReader } from '../../core/text/wordnet.js';
import { namesNoOtherClass } from '../../core/text/text-condition.js';
import { promptClassName, quotedClassName } from './class-names.js';
import { synsetOffsetOfWnid } from './wnids.js';

type WordNetConfig = PromptConfigOf<'classname-description'> | PromptConfigOf<'classname-hypernym'>;

export const DESCRIPTION_TEMPLATES: readonly string[] = ['{name}, {gloss}', 'a photo of the {name}, {gloss}', '{name}: {gloss}'];
export const HYPERNYM_TEMPLATES: readonly string[] = ['{name}, a type of {hypernym}', '{name}, a kind of {hypernym}', 'a photo of the {name}, a type of {hypernym}'];

/** How far up the hypernym tree to look for a lemma (or a gloss) that names no other class. */
const MAX_HYPERNYM_LEVELS = 3;

function wordnetLabel(config: WordNetConfig): string {
  return config.wordnetDir ? `WordNet 3.0 at ${config.wordnetDir}` : `${WORDNET_PACKAGE}@${wordnetPackageVersion()} database/3.0`;
}

/** A synset a class names: its WordNet 3.0 offset, and the lemma it must carry (absent for a wnid, which is the synset itself). */
interface ClassSynsetRef {
  offset: string;
  lemma?: string;
}

function synsetRefs(config: WordNetConfig, classes: readonly string[], c: number, field: string, wnids: PromptContext['wnids']): { refs: ClassSynsetRef[]; where: string } {
  const className = classes[c]!;
  const own = config.synsets?.[className];
  if (own) return { refs: Array.isArray(own) ? own : [own], where: `${field}.synsets.${className}` };
  const wnid = wnids?.[c] ?? null;
  if (wnid !== null) return { refs: [{ offset: synsetOffsetOfWnid(wnid, `${field} (wnid of class ${quotedClassName(className)})`) }], where: `${field} (the dataset's WordNet id ${wnid} of class ${quotedClassName(className)})` };
  const info = fashionMnistClassInfo(className);
  if (info) return { refs: [info.synset], where: `${field} (the synset of "${className}" in core/fashion-mnist-classes.ts)` };
  const example = `{${JSON.stringify(className)}: {"offset": "<8-digit WordNet 3.0 noun offset>", "lemma": "<one of its lemmas>"}}`;
  throw new PromptConfigError(
    `${field}.synsets`,
    `no WordNet synset for class ${quotedClassName(className)}${wnids ? ' (the dataset gives no WordNet id for it)' : ''}, and ${config.strategy} needs one per class. Fix: ` +
      `give the dataset's WordNet ids (dataset.wnids in the spec: a list or a LOC_synset_mapping.txt-style file, or class folders named by wnid, e.g. n01440764), ` +
      `map it in FASHION_MNIST_CLASS_INFO (core/fashion-mnist-classes.ts) if it is a built-in class, or set ${field}.synsets: ${example.length <= 300 ? example : '{"<class>": {"offset": "...", "lemma": "..."}}'}`,
  );
}

async function readSynset(wn: WordNetReader, offset: string, where: string): Promise<Synset> {
  try {
    return await wn.synset(offset);
  } catch (err) {
    throw new PromptConfigError(where, (err as Error).message);
  }
}

/** Each class's synsets (each checked to carry the lemma its reference names: a 3.1 offset fails here) and where they came from. */
async function classSynsets(
  config: WordNetConfig,
  classes: readonly string[],
  field: string,
  wnids: PromptContext['wnids'],
): Promise<{ wn: WordNetReader; perClass: { synsets: Synset[]; where: string }[] }> {
  checkWnids(wnids, classes, field);
  let wn: WordNetReader;
  try {
    wn = await openWordNet(config.wordnetDir ?? defaultWordnetDir());
  } catch (err) {
    throw new PromptConfigError(`${field}.wordnetDir`, (err as Error).message);
  }
  const perClass: { synsets: Synset[]; where: string }[] = [];
  for (let c = 0; c < classes.length; c++) {
    const { refs, where } = synsetRefs(config, classes, c, field, wnids);
    const synsets: Synset[] = [];
    for (const ref of refs) {
      const synset = await readSynset(wn, ref.offset, where);
      const want = ref.lemma?.replace(/_/g, ' ').toLowerCase();
      if (want !== undefined && !synset.lemmas.some((l) => l.toLowerCase() === want)) {
        throw new PromptConfigError(
          where,
          `WordNet 3.0 synset ${ref.offset} is {${synset.lemmas.join(', ')}} ("${synset.definition}"), without the lemma "${ref.lemma}": ` +
            'is the offset from another WordNet version (3.1 numbers synsets differently)?',
        );
      }
      synsets.push(synset);
    }
    perClass.push({ synsets, where });
  }
  return { wn, perClass };
}

/** The wnids line up with the classes: one per class (or null), each of the form n + 8 digits. */
function checkWnids(wnids: PromptContext['wnids'], classes: readonly string[], field: string): void {
  if (!wnids) return;
  if (wnids.length !== classes.length) throw new PromptConfigError(field, `the dataset gives ${wnids.length} WordNet ids for ${classes.length} classes: give one per class, in class order (null for a class without one)`);
  wnids.forEach((wnid, c) => {
    if (wnid !== null) synsetOffsetOfWnid(wnid, `${field} (wnid of class ${quotedClassName(classes[c]!)})`);
  });
}

const fill = (template: string, values: Record<string, string>) => template.replace(/\{(\w+)\}/g, (m, key: string) => values[key] ?? m);
/** The definition without a leading usage note such as "(usually in the plural)". */
const cleanDefinition = (definition: string) => definition.replace(/^\([^)]*\)\s*/, '');

/** The synsets one level up from `level` (their hypernyms), read from WordNet. */
const parentsOf = (wn: WordNetReader, level: Synset[], where: string) => Promise.all(level.flatMap((s) => s.hypernyms).map((h) => readSynset(wn, h.offset, where)));

/** A class's gloss: its synset's definition (whole, else its first clause), else its nearest hypernym's, naming no other class. */
async function ownGloss(wn: WordNetReader, synset: Synset, cls: number, classes: readonly string[], where: string): Promise<string> {
  let level = [synset];
  for (let depth = 0; depth <= MAX_HYPERNYM_LEVELS && level.length > 0; depth++) {
    for (const s of level) {
      const definition = cleanDefinition(s.definition);
      for (const text of [definition, definition.split(';')[0]!.trim()]) if (text && namesNoOtherClass(text, cls, classes)) return text;
    }
    level = await parentsOf(wn, level, where);
  }
  throw new PromptConfigError(where, `the WordNet 3.0 glosses of ${quotedClassName(classes[cls]!)} and its hypernyms name other classes of the dataset; choose another synset (set it in synsets)`);
}

interface DescribedSynset {
  gloss: string;
  /** Its lemmas that name no other class (the class name when none is left). */
  lemmas: string[];
}

export const classnameDescription: PromptStrategy<'classname-description'> = {
  description: 'the class name with the WordNet 3.0 gloss of its synset, e.g. "Sandal, a shoe consisting of a sole fastened by straps to the foot"',
  fingerprint: async (config) => ({ wordnet: wordnetLabel(config) }),
  async prepare(config, classes, _plan, ctx) {
    const field = ctx.field ?? 'prompts';
    const { wn, perClass: synsetsOf } = await classSynsets(config, classes, field, ctx.wnids);
    const perClass: DescribedSynset[][] = [];
    for (const [c, { synsets, where }] of synsetsOf.entries()) {
      const described: DescribedSynset[] = [];
      for (const synset of synsets) {
        const lemmas = synset.lemmas.filter((l) => namesNoOtherClass(l, c, classes));
        described.push({ gloss: await ownGloss(wn, synset, c, classes, where), lemmas: lemmas.length > 0 ? lemmas : [promptClassName(classes[c]!)] });
      }
      perClass.push(described);
    }
    const templates = config.templates ?? DESCRIPTION_TEMPLATES;
    return {
      provenance: {
        strategy: 'classname-description',
        source: 'wordnet-3.0',
        wordnet: wordnetLabel(config),
        summary: `class name + WordNet 3.0 gloss (${wordnetLabel(config)})`,
      },
      textFor(classIndex, _index, rng) {
        const template = templates[rng.int(templates.length)]!;
        const synsets = perClass[classIndex]!;
        const synset = synsets[rng.int(synsets.length)]!;
        const lemma = synset.lemmas[rng.int(synset.lemmas.length)]!;
        return fill(template, { name: promptClassName(classes[classIndex]!), gloss: synset.gloss, lemma });
      },
    };
  },
};

/** Hypernym lemmas of a class, climbing past hypernyms whose lemmas are the class name itself or name another class. */
async function hypernymLemmas(wn: WordNetReader, synsets: Synset[], cls: number, classes: readonly string[], where: string): Promise<string[]> {
  const className = classes[cls]!;
  const self = className.toLowerCase();
  let level = synsets;
  for (let depth = 0; depth < MAX_HYPERNYM_LEVELS && level.length > 0; depth++) {
    const parents = await parentsOf(wn, level, where);
    const lemmas = [...new Set(parents.flatMap((p) => p.lemmas))].filter((l) => l.toLowerCase() !== self && namesNoOtherClass(l, cls, classes));
    if (lemmas.length > 0) return lemmas;
    level = parents;
  }
  throw new PromptConfigError(where, `the WordNet 3.0 synset of ${quotedClassName(className)} has no hypernym to name that names no other class; choose a more specific synset (set it in synsets)`);
}

export const classnameHypernym: PromptStrategy<'classname-hypernym'> = {
  description: 'the class name with a WordNet 3.0 hypernym of its synset, e.g. "Sandal, a type of shoe"',
  fingerprint: async (config) => ({ wordnet: wordnetLabel(config) }),
  async prepare(config, classes, _plan, ctx) {
    const field = ctx.field ?? 'prompts';
    const { wn, perClass } = await classSynsets(config, classes, field, ctx.wnids);
    const options: string[][] = [];
    for (const [c, { synsets, where }] of perClass.entries()) options.push(await hypernymLemmas(wn, synsets, c, classes, where));
    const templates = config.templates ?? HYPERNYM_TEMPLATES;
    return {
      provenance: {
        strategy: 'classname-hypernym',
        source: 'wordnet-3.0',
        wordnet: wordnetLabel(config),
        summary: `class name + WordNet 3.0 hypernym (${wordnetLabel(config)})`,
      },
      textFor(classIndex, _index, rng) {
        const template = templates[rng.int(templates.length)]!;
        const lemmas = options[classIndex]!;
        return fill(template, { name: promptClassName(classes[classIndex]!), hypernym: lemmas[rng.int(lemmas.length)]! });
      },
    };
  },
};
