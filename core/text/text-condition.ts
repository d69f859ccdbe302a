// The embedded generator's "text encoder": a lexical matcher from a prompt to soft weights over
// the generator's classes. It tokenizes the prompt, finds class names and synonyms as whole-token
// phrases (greedy, left to right, longest phrase first, so "t-shirt" is never also read as "shirt"
// and "dress shirt" is a shirt, not a dress) and spreads the mass equally over the distinct
// classes found. A prompt with no match gives null, which the sampler treats as unconditional.

/**
 * Default synonyms for the 10 Fashion-MNIST classes, keyed by class name. Class names themselves
 * (and their '/'-separated parts, e.g. "T-shirt" and "top" for 'T-shirt/top') always match, so
 * they need not be listed. Plurals ("sneakers", "dresses") match without being listed.
 */
export const DEFAULT_CLASS_SYNONYMS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'T-shirt/top': ['t-shirt', 'tshirt', 'tee', 'tee-shirt', 'top', 'tank top', 'crop top', 'camisole'],
  Trouser: ['trouser', 'pants', 'jeans', 'slacks', 'chinos', 'leggings'],
  Pullover: ['pullover', 'sweater', 'jumper', 'hoodie', 'sweatshirt', 'cardigan'],
  Dress: ['dress', 'gown', 'frock', 'sundress'],
  Coat: ['coat', 'jacket', 'parka', 'overcoat', 'raincoat', 'trench coat', 'blazer', 'anorak'],
  Sandal: ['sandal', 'flip-flop', 'flip flop', 'espadrille'],
  Shirt: ['shirt', 'blouse', 'button-down', 'button-up', 'dress shirt', 'polo shirt', 'flannel shirt'],
  Sneaker: ['sneaker', 'trainer', 'running shoe', 'tennis shoe', 'athletic shoe', 'basketball shoe'],
  Bag: ['bag', 'handbag', 'purse', 'backpack', 'tote', 'satchel', 'shoulder bag'],
  'Ankle boot': ['ankle boot', 'boot', 'bootie', 'chelsea boot'],
});

/** Lowercase word tokens: runs of letters/digits (so "T-Shirt", "t shirt" and "t_shirt" all read as t, shirt). */
export function tokenize(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 0);
}

interface Phrase {
  tokens: string[];
  cls: number;
}

/** Does prompt token `word` match phrase token `want`? The phrase's last token also matches plurals. */
function tokenMatches(word: string, want: string, last: boolean): boolean {
  if (word === want) return true;
  if (!last) return false;
  return word === `${want}s` || word === `${want}es`;
}

function buildPhrases(classes: readonly string[], synonyms: Readonly<Record<string, readonly string[]>>): Phrase[] {
  const seen = new Map<string, number>();
  const phrases: Phrase[] = [];
  const add = (text: string, cls: number) => {
    const tokens = tokenize(text);
    if (tokens.length === 0) return;
    const key = tokens.join(' ');
    const prior = seen.get(key);
    if (prior !== undefined) {
      if (prior !== cls) {
        throw new Error(`text condition: phrase "${text}" is listed for both "${classes[prior]}" and "${classes[cls]}"`);
      }
      return;
    }
    seen.set(key, cls);
    phrases.push({ tokens, cls });
  };
  classes.forEach((name, cls) => {
    add(name, cls);
    for (const part of name.split('/')) add(part, cls);
    for (const synonym of synonyms[name] ?? []) add(synonym, cls);
  });
  // Longest phrase first, so a greedy scan prefers "t shirt" over "shirt" at the same position.
  phrases.sort((a, b) => b.tokens.length - a.tokens.length || a.cls - b.cls);
  return phrases;
}

const phraseCache = new WeakMap<object, Map<string, Phrase[]>>();

function phrasesFor(classes: readonly string[], synonyms: Readonly<Record<string, readonly string[]>>): Phrase[] {
  let byClasses = phraseCache.get(synonyms);
  if (!byClasses) {
    byClasses = new Map();
    phraseCache.set(synonyms, byClasses);
  }
  const key = JSON.stringify(classes);
  let phrases = byClasses.get(key);
  if (!phrases) {
    phrases = buildPhrases(classes, synonyms);
    byClasses.set(key, phrases);
  }
  return phrases;
}

/** The classes a prompt names, in order of first mention, with how often each was named. */
export function matchClasses(
  prompt: string,
  classes: readonly string[],
  synonyms: Readonly<Record<string, readonly string[]>> = DEFAULT_CLASS_SYNONYMS,
): { cls: number; count: number }[] {
  const phrases = phrasesFor(classes, synonyms);
  const words = tokenize(prompt);
  const counts = new Map<number, number>();
  let i = 0;
  while (i < words.length) {
    let matched: Phrase | undefined;
    for (const phrase of phrases) {
      const n = phrase.tokens.length;
      if (i + n > words.length) continue;
      let ok = true;
      for (let j = 0; j < n && ok; j++) ok = tokenMatches(words[i + j]!, phrase.tokens[j]!, j === n - 1);
      if (ok) {
        matched = phrase;
        break;
      }
    }
    if (matched) {
      counts.set(matched.cls, (counts.get(matched.cls) ?? 0) + 1);
      i += matched.tokens.length;
    } else {
      i += 1;
    }
  }
  return [...counts].map(([cls, count]) => ({ cls, count }));
}

/**
 * Whether `text` names no class but `cls` (naming `cls` itself, or nothing, is fine): the filter
 * that keeps captions and WordNet prompts on their own label, as the text encoder reads them.
 */
export function namesNoOtherClass(
  text: string,
  cls: number,
  classes: readonly string[],
  synonyms: Readonly<Record<string, readonly string[]>> = DEFAULT_CLASS_SYNONYMS,
): boolean {
  return matchClasses(text, classes, synonyms).every((m) => m.cls === cls);
}

/**
 * Soft class weights for a prompt: equal mass on each distinct class the prompt names (so
 * "a shirt or a dress" is 0.5/0.5), summing to 1; null when it names none (=> unconditional).
 * Matching is case-insensitive on whole tokens; `synonyms` (keyed by class name) defaults to
 * DEFAULT_CLASS_SYNONYMS, and class names always match themselves.
 */
export function promptToClassWeights(
  prompt: string,
  classes: readonly string[],
  synonyms: Readonly<Record<string, readonly string[]>> = DEFAULT_CLASS_SYNONYMS,
): Float64Array | null {
  const found = matchClasses(prompt, classes, synonyms);
  if (found.length === 0) return null;
  const weights = new Float64Array(classes.length);
  for (const { cls } of found) weights[cls] = 1 / found.length;
  return weights;
}

/**
 * Words (outside any class phrase) that say how an item looks, and which way they push the
 * embedded generator's attributes (gmm-diffusion.ts PromptAttributes). Phrases are matched as
 * whole tokens like class names. Deliberately small and literal: it lets templates, captions and
 * sentences change what is generated through what they say about the item, not through hashing.
 */
export const ATTRIBUTE_WORDS: Readonly<Record<'brightness' | 'size' | 'texture', Readonly<Record<string, number>>>> = Object.freeze({
  brightness: {
    white: 1, light: 1, bright: 1, pale: 1, cream: 1, ivory: 1, beige: 1, pastel: 1, 'light grey': 1, 'light gray': 1,
    black: -1, dark: -1, navy: -1, charcoal: -1, dim: -1, 'dark grey': -1, 'dark gray': -1, shadowy: -1,
  },
  size: {
    large: 1, big: 1, oversized: 1, long: 1, maxi: 1, wide: 1, loose: 1, baggy: 1, huge: 1, 'close up': 1, chunky: 1, 'full length': 1,
    small: -1, mini: -1, short: -1, cropped: -1, slim: -1, tight: -1, fitted: -1, tiny: -1, petite: -1, skinny: -1, narrow: -1,
  },
  texture: {
    striped: 1, stripes: 1, patterned: 1, plaid: 1, checked: 1, checkered: 1, floral: 1, printed: 1, graphic: 1, textured: 1,
    knit: 1, knitted: 1, cable: 1, lace: 1, sequined: 1, embroidered: 1, logo: 1, quilted: 1, ribbed: 1, detailed: 1,
    plain: -1, solid: -1, simple: -1, smooth: -1, minimalist: -1, blurry: -1, 'low resolution': -1, pixelated: -1,
  },
});

interface AttributePhrase {
  tokens: string[];
  attribute: 'brightness' | 'size' | 'texture';
  sign: number;
}

const ATTRIBUTE_PHRASES: AttributePhrase[] = (Object.entries(ATTRIBUTE_WORDS) as ['brightness' | 'size' | 'texture', Record<string, number>][])
  .flatMap(([attribute, words]) => Object.entries(words).map(([text, sign]) => ({ tokens: tokenize(text), attribute, sign })))
  .sort((a, b) => b.tokens.length - a.tokens.length);

/**
 * What a prompt says about the item beyond its class: brightness, size and texture, each the sum
 * of its attribute words' signs clipped to [-1, 1]; null when it says nothing (then the class's
 * own mixture weights are used). Tokens inside class phrases ("tank top", "dress shirt") do not
 * count as attributes.
 */
export function promptAttributes(
  prompt: string,
  classes: readonly string[],
  synonyms: Readonly<Record<string, readonly string[]>> = DEFAULT_CLASS_SYNONYMS,
): { brightness: number; size: number; texture: number } | null {
  const phrases = phrasesFor(classes, synonyms);
  const words = tokenize(prompt);
  const sums = { brightness: 0, size: 0, texture: 0 };
  let any = false;
  const matchAt = <T extends { tokens: string[] }>(list: readonly T[], i: number, plural: boolean): T | undefined =>
    list.find((p) => {
      const n = p.tokens.length;
      if (i + n > words.length) return false;
      for (let j = 0; j < n; j++) {
        if (!(plural ? tokenMatches(words[i + j]!, p.tokens[j]!, j === n - 1) : words[i + j] === p.tokens[j])) return false;
      }
      return true;
    });
  for (let i = 0; i < words.length; ) {
    const cls = matchAt(phrases, i, true);
    if (cls) {
      i += cls.tokens.length;
      continue;
    }
    const attribute = matchAt(ATTRIBUTE_PHRASES, i, false);
    if (attribute) {
      sums[attribute.attribute] += attribute.sign;
      any = true;
      i += attribute.tokens.length;
      continue;
    }
    i += 1;
  }
  if (!any) return null;
  const clip = (v: number) => Math.max(-1, Math.min(1, v));
  return { brightness: clip(sums.brightness), size: clip(sums.size), texture: clip(sums.texture) };
}
