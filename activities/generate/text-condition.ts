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
