// The CLIP text tower's tokenizer: lowercase word tokens (the rule of the embedded generator's
// text condition, activities/generate/text-condition.ts `tokenize`) looked up in a
// vocabulary built from the caption corpus. Ids: [PAD] = 0, [UNK] = 1, then the corpus words by
// descending count (ties in code-unit order), so the vocabulary is a pure function of the
// corpus multiset and the options. Specials are bracketed, which a word token never is.
//
// Everything here reads untrusted text (captions from generators, vocabularies from stored
// models), so input lengths are bounded: texts are cut at MAX_TEXT_CHARS before tokenizing,
// tokens longer than MAX_TOKEN_CHARS never enter a vocabulary (and encode as [UNK]).
import { createHash } from 'node:crypto';

export const PAD_TOKEN = '[PAD]';
export const UNK_TOKEN = '[UNK]';
export const PAD_ID = 0;
export const UNK_ID = 1;
export const VOCABULARY_FORMAT_VERSION = 1;
/** Characters of a text read before tokenizing; the rest is ignored. */
export const MAX_TEXT_CHARS = 4096;
export const MAX_TOKEN_CHARS = 64;
/** Largest vocabulary (specials included) any function here builds or accepts. */
export const MAX_VOCABULARY = 1 << 16;
export const MAX_SEQUENCE = 1024;

/** Plain data: `tokens[id]` is the token of that id; tokens[0] = '[PAD]', tokens[1] = '[UNK]'. */
export interface Vocabulary {
  readonly tokens: readonly string[];
}

export interface VocabularyOptions {
  /** Words seen fewer times than this become [UNK] (default 1: every word). */
  minCount?: number;
  /** Largest vocabulary size, the two specials included (default 4096). */
  maxSize?: number;
}

export class VocabularyError extends Error {
  readonly code = 'E_BAD_VOCABULARY';
}

/**
 * The word tokens of a text, read up to MAX_TEXT_CHARS characters: runs of letters/digits,
 * accents stripped, lowercased ("T-Shirt" reads as t, shirt). The same rule as text-condition.ts
 * `tokenize`, kept as a copy on purpose: stored models carry vocabularies of these tokens, so this
 * rule is part of the model format and must not change when the generator's matcher does.
 */
export function captionTokens(text: string): string[] {
  if (typeof text !== 'string') throw new TypeError(`caption must be a string, got ${typeof text}`);
  return (text.length > MAX_TEXT_CHARS ? text.slice(0, MAX_TEXT_CHARS) : text)
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 0);
}

/** Build the vocabulary of a caption corpus (deterministic: same multiset of words, same ids). */
export function buildVocabulary(corpus: Iterable<string>, opts: VocabularyOptions = {}): Vocabulary {
  const minCount = opts.minCount ?? 1;
  const maxSize = opts.maxSize ?? 4096;
  if (!Number.isInteger(minCount) || minCount < 1) throw new VocabularyError(`minCount must be a positive integer, got ${minCount}`);
  if (!Number.isInteger(maxSize) || maxSize < 2 || maxSize > MAX_VOCABULARY) {
    throw new VocabularyError(`maxSize must be an integer in [2, ${MAX_VOCABULARY}], got ${maxSize}`);
  }
  const counts = new Map<string, number>();
  for (const text of corpus) {
    for (const token of captionTokens(text)) {
      if (token.length <= MAX_TOKEN_CHARS) counts.set(token, (counts.get(token) ?? 0) + 1);
    }
  }
  const words = [...counts]
    // isWord: a token the rule would read differently on its own could never be looked up again.
    .filter(([token, n]) => n >= minCount && isWord(token))
    .sort(([a, na], [b, nb]) => nb - na || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, maxSize - 2)
    .map(([token]) => token);
  return { tokens: [PAD_TOKEN, UNK_TOKEN, ...words] };
}

const lookups = new WeakMap<Vocabulary, Map<string, number>>();

function lookup(vocabulary: Vocabulary): Map<string, number> {
  let index = lookups.get(vocabulary);
  if (!index) {
    checkVocabulary(vocabulary);
    index = new Map(vocabulary.tokens.map((t, i) => [t, i]));
    lookups.set(vocabulary, index);
  }
  return index;
}

/** Throws VocabularyError unless `v` is a well-formed vocabulary (as buildVocabulary makes). */
export function checkVocabulary(v: unknown): asserts v is Vocabulary {
  const tokens = (v as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(tokens)) throw new VocabularyError('vocabulary: tokens must be an array');
  if (tokens.length < 2 || tokens.length > MAX_VOCABULARY) throw new VocabularyError(`vocabulary: ${tokens.length} tokens, expected 2..${MAX_VOCABULARY}`);
  if (tokens[PAD_ID] !== PAD_TOKEN || tokens[UNK_ID] !== UNK_TOKEN) {
    throw new VocabularyError(`vocabulary: must start with ${PAD_TOKEN}, ${UNK_TOKEN}; got ${JSON.stringify(tokens.slice(0, 2))}`);
  }
  const seen = new Set<string>();
  for (let i = 2; i < tokens.length; i++) {
    const t: unknown = tokens[i];
    // A word must be what the tokenizer yields for itself, or encode() could never produce it.
    if (typeof t !== 'string' || t.length === 0 || t.length > MAX_TOKEN_CHARS || !isWord(t)) {
      throw new VocabularyError(`vocabulary: token ${i} ${JSON.stringify(t)?.slice(0, 80)} is not a word token`);
    }
    if (seen.has(t)) throw new VocabularyError(`vocabulary: token ${JSON.stringify(t)} appears twice`);
    seen.add(t);
  }
}

function isWord(t: string): boolean {
  const tokens = captionTokens(t);
  return tokens.length === 1 && tokens[0] === t;
}

export function vocabularyToJSON(vocabulary: Vocabulary): { format: typeof VOCABULARY_FORMAT_VERSION; tokens: string[] } {
  checkVocabulary(vocabulary);
  return { format: VOCABULARY_FORMAT_VERSION, tokens: [...vocabulary.tokens] };
}

/** Parse `vocabularyToJSON`'s output (an object or its JSON text); throws VocabularyError. */
export function vocabularyFromJSON(json: unknown): Vocabulary {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (err) {
      throw new VocabularyError(`vocabulary: not valid JSON (${(err as Error).message})`);
    }
  }
  const format = (value as { format?: unknown } | null)?.format;
  if (format !== VOCABULARY_FORMAT_VERSION) throw new VocabularyError(`vocabulary: unsupported format ${JSON.stringify(format)}`);
  const vocabulary = { tokens: (value as { tokens?: unknown }).tokens };
  checkVocabulary(vocabulary);
  return { tokens: [...vocabulary.tokens] };
}

/** Content hash of a vocabulary (hex sha256 of its token list), for run fingerprints. */
export function vocabularyDigest(vocabulary: Vocabulary): string {
  checkVocabulary(vocabulary);
  return createHash('sha256').update(JSON.stringify(vocabulary.tokens)).digest('hex');
}

function checkLength(maxLen: number): void {
  if (!Number.isInteger(maxLen) || maxLen < 1 || maxLen > MAX_SEQUENCE) throw new RangeError(`maxLen must be an integer in [1, ${MAX_SEQUENCE}], got ${maxLen}`);
}

/** Token ids of `text`: the first maxLen words (unknown ones as [UNK]), then [PAD]s up to maxLen. */
export function encode(vocabulary: Vocabulary, text: string, maxLen: number): Int32Array {
  checkLength(maxLen);
  const out = new Int32Array(maxLen);
  encodeInto(lookup(vocabulary), text, out, 0, maxLen);
  return out;
}

/** `encode` for many texts, row i at i * maxLen. */
export function encodeAll(vocabulary: Vocabulary, texts: readonly string[], maxLen: number): Int32Array {
  checkLength(maxLen);
  const index = lookup(vocabulary);
  const out = new Int32Array(texts.length * maxLen);
  texts.forEach((text, i) => encodeInto(index, text, out, i * maxLen, maxLen));
  return out;
}

function encodeInto(index: Map<string, number>, text: string, out: Int32Array, offset: number, maxLen: number): void {
  const words = captionTokens(text);
  const n = Math.min(words.length, maxLen);
  for (let i = 0; i < n; i++) out[offset + i] = index.get(words[i]!) ?? UNK_ID;
}

/** Tokens of ids (for logs and tests); PADs are dropped. */
export function decode(vocabulary: Vocabulary, ids: ArrayLike<number>): string[] {
  const out: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id === PAD_ID) continue;
    out.push(vocabulary.tokens[id] ?? UNK_TOKEN);
  }
  return out;
}
