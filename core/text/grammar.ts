// Two small deterministic text models over a class name, driven by a per-prompt rng:
// - a template grammar that writes a sentence around the name (word2sentence without an LLM);
// - a captioner that describes one imagined product photo of the class (captions without a file).
// Verbs, materials and views depend on the class's category (core/fashion-mnist-classes.ts); a
// class without metadata gets the generic ones. No slot word names a Fashion-MNIST class or a
// synonym the generator's text encoder knows (test/prompts-grammar.test.ts checks), so the class
// condition of the prompt comes from the class name alone.
import type { ClassCategory } from '../datasets/fashion-mnist-classes.js';
import type { Rng } from '../rng.js';

type Group = 'garment' | 'footwear' | 'bag' | 'generic';

function groupOf(category: ClassCategory | undefined): Group {
  if (category === 'footwear' || category === 'bag') return category;
  return category ? 'garment' : 'generic';
}

const pick = <T>(list: readonly T[], rng: Rng): T => list[rng.int(list.length)]!;
const withArticle = (word: string) => `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;
const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

export const GRAMMAR = {
  subjects: ['a young woman', 'a man', 'a teenager', 'an older woman', 'a student', 'a shopper', 'a child', 'a fashion model', 'a tourist', 'an old man'],
  verbs: {
    garment: ['wears', 'is wearing', 'tries on', 'buys', 'folds', 'shows off'],
    footwear: ['wears', 'is wearing', 'tries on', 'buys', 'picks out', 'cleans'],
    bag: ['carries', 'is carrying', 'holds', 'buys', 'packs', 'picks out'],
    generic: ['holds', 'looks at', 'buys', 'picks out', 'photographs', 'points at'],
  } satisfies Record<Group, readonly string[]>,
  adjectives: ['new', 'red', 'black', 'white', 'striped', 'comfortable', 'stylish', 'worn', 'bright', 'simple', 'elegant', 'casual', 'vintage', 'blue'],
  places: [
    'on a busy city street', 'in a quiet park', 'at the beach', 'in a clothing store', 'at a train station', 'in a sunny kitchen',
    'at an outdoor market', 'on a rainy afternoon', 'in the snow', 'at a music festival', 'in the office', 'beside a lake',
  ],
  displays: ['is displayed in a shop window', 'sits on a wooden bench', 'lies on a bed', 'is on sale at a market stall', 'waits by the front door'],
} as const;

/** One sentence around `name`: "A student tries on a striped Dress at the beach." */
export function grammarSentence(name: string, category: ClassCategory | undefined, rng: Rng): string {
  const adjective = pick(GRAMMAR.adjectives, rng);
  if (rng.int(4) === 0) return `${capitalize(withArticle(adjective))} ${name} ${pick(GRAMMAR.displays, rng)}.`;
  const subject = pick(GRAMMAR.subjects, rng);
  const verb = pick(GRAMMAR.verbs[groupOf(category)], rng);
  return `${capitalize(subject)} ${verb} ${withArticle(adjective)} ${name} ${pick(GRAMMAR.places, rng)}.`;
}

/** Scene hint for an LLM request (a place from the grammar), so distinct requests ask for distinct sentences. */
export function sceneHint(rng: Rng): string {
  return pick(GRAMMAR.places, rng);
}

const GARMENT_MATERIALS: Record<Exclude<ClassCategory, 'footwear' | 'bag'>, readonly string[]> = {
  top: ['cotton', 'linen', 'silk', 'polyester', 'organic cotton', 'viscose'],
  knitwear: ['wool', 'cashmere', 'cotton knit', 'merino wool', 'chunky knit', 'mohair'],
  bottom: ['denim', 'cotton', 'linen', 'corduroy', 'wool', 'twill'],
  dress: ['silk', 'cotton', 'chiffon', 'linen', 'satin', 'velvet'],
  outerwear: ['wool', 'leather', 'quilted', 'waterproof nylon', 'tweed', 'suede'],
};

export const CAPTIONER = {
  colours: ['white', 'black', 'grey', 'navy', 'beige', 'red', 'brown', 'olive', 'pink', 'light blue', 'dark green', 'cream', 'burgundy', 'mustard yellow'],
  materials: {
    ...GARMENT_MATERIALS,
    footwear: ['leather', 'suede', 'canvas', 'rubber', 'mesh', 'patent leather'],
    bag: ['leather', 'canvas', 'suede', 'nylon', 'straw', 'faux leather'],
  } satisfies Record<ClassCategory, readonly string[]>,
  patterns: {
    garment: ['striped', 'checked', 'floral', 'polka-dot', 'plain', 'two-tone'],
    footwear: ['two-tone', 'plain', 'perforated', 'embossed', 'studded', 'glossy'],
    bag: ['quilted', 'plain', 'two-tone', 'embossed', 'woven', 'glossy'],
    generic: ['plain', 'patterned', 'two-tone', 'glossy'],
  } satisfies Record<Group, readonly string[]>,
  views: {
    garment: ['laid flat on a white background', 'seen from the front', 'seen from the back', 'on a hanger', 'folded neatly', 'in a catalogue photo'],
    footwear: ['seen from the side', 'seen from above', 'on a white background', 'in a catalogue photo', 'seen from the front', 'at an angle'],
    bag: ['seen from the front', 'on a white background', 'in a catalogue photo', 'standing upright', 'seen from the side', 'with its handles raised'],
    generic: ['seen from the front', 'on a white background', 'in a catalogue photo', 'seen from the side'],
  } satisfies Record<Group, readonly string[]>,
} as const;

/**
 * One caption of an imagined catalogue photo: "a white leather sneaker seen from the side".
 * `noun` is the class's lower-case head noun; "pair of X" nouns keep "pair of" in front.
 */
export function builtInCaption(noun: string, category: ClassCategory | undefined, rng: Rng): string {
  const group = groupOf(category);
  const words: string[] = [pick(CAPTIONER.colours, rng)];
  if (rng.int(2) === 0) words.push(pick(CAPTIONER.patterns[group], rng));
  if (category) words.push(pick(CAPTIONER.materials[category], rng));
  const view = pick(CAPTIONER.views[group], rng);
  const pair = /^pair of (.+)$/.exec(noun);
  const item = pair ? `a pair of ${words.join(' ')} ${pair[1]}` : `${withArticle(words.join(' '))} ${noun}`;
  return `${item} ${view}`;
}
