// A spec's text (YAML, or JSON by its file name) read into a raw value plus a way to find where
// any field sits in the text, so every problem can say file:line:col. Nesting is checked before
// the YAML composer (which recurses) ever sees the document, without recursion of our own.
import { Composer, isAlias, isMap, isScalar, isSeq, LineCounter, Parser, YAMLParseError, type CST, type Document, type Node } from 'yaml';
import { printable } from '../../core/text/printable.js';
import { unreadableSpecError } from './errors.js';
import type { IssuePath, Locate } from './issues.js';

/** Deeper than any spec needs (a spec is about 5 levels deep); deep enough input is an attack or an accident. */
export const MAX_SPEC_NESTING = 64;
/** Aliases expanded when a YAML spec becomes a value (a spec uses a few; "billion laughs" uses many). */
const MAX_ALIASES = 100;

export interface SpecText {
  raw: unknown;
  locate: Locate;
}

export function readSpecText(text: string, origin: string): SpecText {
  try {
    return readText(text, origin);
  } catch (err) {
    // The scans above keep nesting out of the recursive parts; should a stack still run out, say so plainly.
    if (!(err instanceof RangeError)) throw err;
    const message = `too deeply nested to read (${printable(err.message, 100)}); a spec is at most ${MAX_SPEC_NESTING} levels deep`;
    throw unreadableSpecError(origin, 'a readable spec', [{ path: '(root)', message }]);
  }
}

function readText(text: string, origin: string): SpecText {
  const json = origin.toLowerCase().endsWith('.json');
  const format = json ? 'JSON' : 'YAML';
  const lines = new LineCounter();
  const pos = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return { line: Math.max(1, line), column: Math.max(1, col) };
  };
  const fail = (offset: number, message: string) => unreadableSpecError(origin, `valid ${format}`, [{ path: '(root)', message, ...pos(offset), snippet: snippetAt(text, offset) }]);

  // Flow brackets first: the YAML parser slows down badly on a megabyte of '[' (seconds), the scan does not.
  const tooDeepBracket = deepBracketOffset(text);
  if (tooDeepBracket >= 0) {
    countLines(lines, text);
    throw fail(tooDeepBracket, nestingMessage(pos(tooDeepBracket).line));
  }
  const tokens = Array.from(new Parser(lines.addNewLine).parse(text));
  const tooDeep = deepNodeOffset(tokens);
  if (tooDeep >= 0) throw fail(tooDeep, nestingMessage(pos(tooDeep).line));

  const doc = composeOne(tokens, text.length);
  const locate = locator(doc, pos);
  if (json) {
    try {
      return { raw: JSON.parse(text) as unknown, locate };
    } catch (err) {
      // V8 gives a position for most syntax errors ("... in JSON at position 6"), not for all.
      const message = (err as Error).message;
      const at = /position (\d+)/.exec(message);
      const offset = at ? Number(at[1]) : doc.errors[0]?.pos[0];
      if (offset !== undefined) throw fail(offset, printable(message.replace(/( in JSON)? at position \d+.*$/, ''), 200));
      throw unreadableSpecError(origin, 'valid JSON', [{ path: '(root)', message: printable(message, 200) }]);
    }
  }
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => ({ path: '(root)', message: printable(e.message, 200), ...pos(e.pos[0]), snippet: snippetAt(text, e.pos[0]) }));
    throw unreadableSpecError(origin, 'valid YAML', problems);
  }
  try {
    return { raw: doc.toJS({ maxAliasCount: MAX_ALIASES }) as unknown, locate };
  } catch (err) {
    throw unreadableSpecError(origin, 'a usable YAML spec', [{ path: '(root)', message: `${printable((err as Error).message, 200)} (a spec needs at most a few aliases)`, line: 1, column: 1 }]);
  }
}

function nestingMessage(line: number): string {
  return `nested deeper than ${MAX_SPEC_NESTING} levels at line ${line}; a sweep spec is a few levels deep`;
}

/** The first document of the stream; more than one is an error, as in yaml's parseDocument. */
function composeOne(tokens: CST.Token[], length: number): Document.Parsed {
  const composer = new Composer({ prettyErrors: false });
  let doc: Document.Parsed | undefined;
  for (const next of composer.compose(tokens, true, length)) {
    if (!doc) doc = next;
    else {
      const message = 'a spec is one YAML document; this text holds more than one (remove the --- line)';
      doc.errors.push(new YAMLParseError([next.range[0], next.range[1]], 'MULTIPLE_DOCS', message));
      break;
    }
  }
  return doc!;
}

/** Feed line starts to the counter without parsing (when the parser is skipped). */
function countLines(lines: LineCounter, text: string): void {
  lines.addNewLine(0);
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1);
}

/**
 * Where flow brackets ([ and {) first nest deeper than MAX_SPEC_NESTING, or -1. Quoted strings and
 * comments are skipped; a quote only opens a string where a YAML or JSON scalar can start.
 */
export function deepBracketOffset(text: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      if (i > 0 && !/[\s[{,:?-]/.test(text[i - 1]!)) continue;
      i = closingQuote(text, i);
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
    } else if (c === '[' || c === '{') {
      if (++depth > MAX_SPEC_NESTING) return i;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return -1;
}

function closingQuote(text: string, open: number): number {
  const quote = text[open];
  for (let i = open + 1; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') i++;
    else if (text[i] === quote) return i;
  }
  return text.length;
}

/** Where the parsed tokens (block and flow collections alike) first nest deeper than MAX_SPEC_NESTING, or -1. */
export function deepNodeOffset(tokens: readonly CST.Token[]): number {
  const stack: { token: CST.Token; depth: number }[] = tokens.map((token) => ({ token, depth: 0 }));
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    if (token.type === 'document') {
      if (token.value) stack.push({ token: token.value, depth });
    } else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth + 1 > MAX_SPEC_NESTING) return token.offset;
      for (const item of token.items) {
        const { key, value } = item as { key?: CST.Token | null; value?: CST.Token };
        if (key) stack.push({ token: key, depth: depth + 1 });
        if (value) stack.push({ token: value, depth: depth + 1 });
      }
    }
  }
  return -1;
}

/** The source line around `offset`, escaped, with a caret under the offset. */
function snippetAt(text: string, offset: number): string {
  const start = offset === 0 ? 0 : text.lastIndexOf('\n', offset - 1) + 1;
  const lineEnd = text.indexOf('\n', offset);
  const end = lineEnd < 0 ? text.length : lineEnd;
  const from = Math.max(start, offset - 60);
  const before = printable(text.slice(from, offset));
  const after = printable(text.slice(offset, Math.min(end, offset + 60)));
  return `  ${from > start ? '…' : ''}${before}${after}\n  ${from > start ? ' ' : ''}${' '.repeat(before.length)}^`;
}

/**
 * A Locate over the document: the node at the path (its key for 'key'), or the closest parent that
 * exists (a missing key is reported at the object that lacks it). Walks without recursion.
 */
function locator(doc: Document.Parsed, pos: (offset: number) => { line: number; column: number }): Locate {
  return (path: IssuePath, at: 'key' | 'value') => {
    let node: unknown = doc.contents;
    let offset = rangeStart(node) ?? 0;
    for (const [i, seg] of path.entries()) {
      if (isAlias(node)) node = node.resolve(doc);
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        const keyStart = rangeStart(pair.key);
        if ((at === 'key' && i === path.length - 1) || rangeStart(pair.value) === undefined) {
          offset = keyStart ?? offset;
          break;
        }
        next = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg];
      }
      const start = rangeStart(next);
      if (start === undefined) break;
      [node, offset] = [next, start];
    }
    return pos(offset);
  };
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}
