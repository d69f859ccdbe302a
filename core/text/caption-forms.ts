// The captioner's grammar: slot words, the five caption forms and the noun phrase, written for one
// class plan with one rng. A Wording decides which slot words a caption may use: the free wording
// (captionFor) draws any word, optional slots by chance; an image's wording (captionForImage)
// keeps only words that agree with the image's measured attribute signs and always states each
// attribute the image shows (image-attributes.ts), so no attribute word of a real caption is random.
import type { ClassCategory } from '../datasets/fashion-mnist-classes.js';
import type { Rng } from '../rng.js';
import { CAPTIONER } from './grammar.js';
import { CLIP_IMAGENET_TEMPLATES } from './clip-templates.js';
import { FALLBACK_ATTRIBUTE_WORDS, IMAGE_ATTRIBUTES, type AttributeSigns, type ImageAttribute } from './image-attributes.js';
import { tokenize } from './text-condition.js';

export type Group = 'garment' | 'footwear' | 'bag' | 'generic';
export const groupOf = (category: ClassCategory | undefined): Group =>
  category === 'footwear' || category === 'bag' ? category : category ? 'garment' : 'generic';

/** Slot words. None names a class (test/core/text/captioner.test.ts checks with matchClasses). */
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

export interface ClassPlan {
  names: string[];
  /** The class's own noun (weighted up), or its first name. */
  head: string;
  category: ClassCategory | undefined;
  group: Group;
  glosses: string[];
}

/** Which slot words a caption may use; see the file comment. */
export interface Wording {
  /** The words of `list` a caption may use. */
  allowed(list: readonly string[]): readonly string[];
  /** The words that state `attribute`'s side when the caption must state it, else null. */
  required(attribute: ImageAttribute, list: readonly string[]): readonly string[] | null;
}

export const FREE_WORDING: Wording = { allowed: (list) => list, required: () => null };

/** The wording of an image with attribute `signs`; `signsOf` reads a phrase's signs as the text encoder does. */
export function imageWording(signs: AttributeSigns, signsOf: (phrase: string) => AttributeSigns): Wording {
  const agrees = (word: string) => IMAGE_ATTRIBUTES.every((a) => signsOf(word)[a] === 0 || signsOf(word)[a] === signs[a]);
  const allowedCache = new WeakMap<readonly string[], readonly string[]>();
  return {
    allowed(list) {
      let out = allowedCache.get(list);
      if (!out) allowedCache.set(list, (out = list.filter(agrees)));
      return out;
    },
    required(attribute, list) {
      const side = signs[attribute];
      if (side === 0) return null;
      const own = this.allowed(list).filter((w) => signsOf(w)[attribute] === side);
      return own.length > 0 ? own : FALLBACK_ATTRIBUTE_WORDS[attribute][side === 1 ? '1' : '-1'];
    },
  };
}

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

const pick = <T>(list: readonly T[], rng: Rng): T => list[rng.int(list.length)]!;
const chance = (rng: Rng, p: number) => rng.uniform() < p;
const article = (phrase: string) => (/^[aeiou]/i.test(phrase) ? 'an' : 'a');
const withArticle = (phrase: string) => `${article(phrase)} ${phrase}`;
const titleCase = (text: string) => text.replace(/(^|[\s-])([a-z])/g, (_, sep: string, c: string) => sep + c.toUpperCase());
const fill = (template: string, values: Record<string, string>) => template.replace(/\{(\w+)\}/g, (m, key: string) => values[key] ?? m);

/**
 * An optional slot's word: none when the slot is omitted (said elsewhere); one of the words stating
 * `attribute` when the wording requires it; else, when `include` (a chance drawn here, or one drawn
 * already) holds, an allowed word.
 */
function slotWord(rng: Rng, wording: Wording, list: readonly string[], include: number | boolean | 'omit', attribute?: ImageAttribute): string | undefined {
  if (include === 'omit') return undefined;
  const required = attribute ? wording.required(attribute, list) : null;
  if (required) return pick(required, rng);
  const allowed = wording.allowed(list);
  return (typeof include === 'boolean' ? include : chance(rng, include)) && allowed.length > 0 ? pick(allowed, rng) : undefined;
}

/** "[fit] [tone] [pattern] [material] name", plural-only names as "pair of ... jeans", footwear sometimes as a pair. */
function nounPhrase(plan: ClassPlan, rng: Rng, wording: Wording, attributes: { fit?: boolean; tone?: 'omit'; pair?: boolean } = {}): string {
  const name = chance(rng, 0.4) ? plan.head : pick(plan.names, rng);
  const words = [
    slotWord(rng, wording, plan.category ? CAPTION_SLOTS.fits[plan.category] : CAPTION_SLOTS.genericFits, attributes.fit ?? 0.35, 'size'),
    slotWord(rng, wording, CAPTION_SLOTS.tones, attributes.tone ?? 0.7, 'brightness'),
    slotWord(rng, wording, CAPTIONER.patterns[plan.group], 0.3, 'texture'),
    plan.category ? slotWord(rng, wording, CAPTIONER.materials[plan.category], 0.5) : undefined,
  ].filter((w): w is string => w !== undefined);
  const last = name.split(' ').at(-1)!;
  if (PLURAL_ONLY.has(last)) return [...(attributes.pair === false ? [] : ['pair of']), ...words, name].join(' ');
  if (plan.group === 'footwear' && attributes.pair !== false && chance(rng, 0.3)) return ['pair of', ...words, `${name}s`].join(' ');
  return [...words, name].join(' ');
}

/** One caption of a class in one of the five forms, drawn with `rng`, in `wording`'s words. */
export function caption(plan: ClassPlan, rng: Rng, wording: Wording = FREE_WORDING): string {
  let roll = rng.int(FORM_TOTAL);
  let form: Form = FORMS[0][0];
  for (const [name, weight] of FORMS) {
    if (roll < weight) {
      form = name;
      break;
    }
    roll -= weight;
  }
  const glosses = wording.allowed(plan.glosses);
  if (form === 'gloss' && glosses.length === 0) form = 'catalogue';
  const np = nounPhrase(plan, rng, wording);
  const view = () => pick(wording.allowed(CAPTIONER.views[plan.group]), rng);
  const setting = () => pick(wording.allowed(CAPTION_SLOTS.settings[plan.group]), rng);
  switch (form) {
    case 'template': {
      // CLIP's own "a {}" templates keep their article; fix it for the phrase ("an oversized coat").
      const template = pick(wording.allowed(CLIP_IMAGENET_TEMPLATES), rng);
      return template.replace(/\ba \{\}/, `${article(np)} {}`).replace('{}', np);
    }
    case 'catalogue': {
      const text = `${withArticle(np)} ${view()}${chance(rng, 0.4) ? `, ${setting()}` : ''}`;
      return chance(rng, 0.5) ? `${text.charAt(0).toUpperCase()}${text.slice(1)}.` : text;
    }
    case 'title': {
      // A product listing's title: "Women's Slim-Fit Cotton Shirt in Charcoal".
      const tone = slotWord(rng, wording, CAPTION_SLOTS.tones, 0.6, 'brightness');
      const item = nounPhrase(plan, rng, wording, { tone: 'omit', fit: chance(rng, 0.6), pair: false });
      return titleCase(`${pick(CAPTION_SLOTS.audiences, rng)} ${item}${tone ? ` in ${tone}` : ''}`);
    }
    case 'gloss':
      return fill(pick(CAPTION_SLOTS.glossForms, rng), { np: withArticle(np), gloss: pick(glosses, rng) });
    case 'scene': {
      const text = fill(pick(wording.allowed(CAPTION_SLOTS.sceneForms), rng), { np: withArticle(np), setting: setting(), view: view() });
      return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
    }
  }
}

/** Every token a caption of these plans can contain, sorted. */
export function vocabulary(plans: readonly ClassPlan[]): string[] {
  const texts: string[] = [
    ...CAPTION_SLOTS.tones, ...Object.values(CAPTION_SLOTS.fits).flat(), ...CAPTION_SLOTS.genericFits,
    ...Object.values(CAPTION_SLOTS.settings).flat(), ...CAPTION_SLOTS.audiences, ...CAPTION_SLOTS.glossForms, ...CAPTION_SLOTS.sceneForms,
    ...CLIP_IMAGENET_TEMPLATES, ...Object.values(CAPTIONER.patterns).flat(), ...Object.values(CAPTIONER.materials).flat(),
    ...Object.values(CAPTIONER.views).flat(), ...Object.values(FALLBACK_ATTRIBUTE_WORDS).flatMap((sides) => Object.values(sides).flat()), 'a an pair of in',
  ];
  for (const plan of plans) texts.push(...plan.names, ...plan.names.map((n) => `${n}s`), ...plan.glosses);
  return [...new Set(texts.flatMap((t) => tokenize(t.replace(/\{\w*\}/g, ' '))))].sort();
}
