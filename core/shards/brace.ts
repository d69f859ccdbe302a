// WebDataset brace ranges in shard URIs ("laion/{00000..00099}.tar"): counted before anything is
// expanded, so a range such as {0..99999999} fails at once (in the spec, the plan and the CLI)
// instead of allocating a hundred million names. Pure: no I/O, no Node imports, so the spec's
// schemas may use it too.

/** The most shard names one source (or one `shards check`) may list, all its patterns together. */
export const MAX_SHARDS = 100_000;

export class BraceError extends Error {
  readonly code = 'E_BRACE';
}

const FIX = `name fewer shards (a narrower range), or split them across several sources`;

interface BracePart {
  open: number;
  close: number;
  body: string;
  range?: { from: number; to: number; width: number };
  list?: string[];
}

/** The first brace group of `pattern`, parsed (undefined when there is none). */
function firstBrace(pattern: string): BracePart | undefined {
  const open = pattern.indexOf('{');
  if (open < 0) {
    if (pattern.includes('}')) throw new BraceError(`${pattern}: unbalanced '}'`);
    return undefined;
  }
  const close = pattern.indexOf('}', open);
  if (close < 0) throw new BraceError(`${pattern}: unbalanced '{'`);
  const body = pattern.slice(open + 1, close);
  const range = /^(\d+)\.\.(\d+)$/.exec(body);
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (to < from) throw new BraceError(`${pattern}: range {${body}} runs backwards`);
    return { open, close, body, range: { from, to, width: range[1]!.length } };
  }
  if (body.includes(',')) return { open, close, body, list: body.split(',') };
  throw new BraceError(`${pattern}: {${body}} is neither a range like {00000..00099} nor a list like {a,b}`);
}

function optionCount(part: BracePart): number {
  return part.range ? part.range.to - part.range.from + 1 : part.list!.length;
}

/** How many names `pattern` expands to, without expanding it (may exceed MAX_SHARDS; Infinity past 2^53). */
export function countBraceExpansion(pattern: string): number {
  let count = 1;
  let rest = pattern;
  for (let part = firstBrace(rest); part; part = firstBrace(rest)) {
    count *= optionCount(part);
    rest = rest.slice(part.close + 1);
  }
  return Number.isSafeInteger(count) ? count : Infinity;
}

function capMessage(what: string, count: number): string {
  const named = Number.isFinite(count) ? String(count) : 'more than 2^53';
  return `${what} names ${named} shards, more than ${MAX_SHARDS} (the cap on shards per source); ${FIX}`;
}

/** Why `pattern` cannot be expanded (bad braces, or over MAX_SHARDS names), or undefined when it can. */
export function braceExpansionProblem(pattern: string): string | undefined {
  try {
    const count = countBraceExpansion(pattern);
    return count > MAX_SHARDS ? capMessage(pattern, count) : undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * WebDataset-style brace expansion: "{00000..00099}" is a zero-padded numeric range (width from the
 * first bound), "{a,b}" a list; several braces expand as a product. At most MAX_SHARDS names,
 * counted before any is made.
 */
export function expandBraces(pattern: string): string[] {
  const count = countBraceExpansion(pattern);
  if (count > MAX_SHARDS) {
    const part = firstBrace(pattern)!;
    const whole = optionCount(part) > MAX_SHARDS ? `range {${part.body}} in ${pattern}` : pattern;
    throw new BraceError(capMessage(whole, optionCount(part) > MAX_SHARDS ? optionCount(part) : count));
  }
  return expandCounted(pattern);
}

function expandCounted(pattern: string): string[] {
  const part = firstBrace(pattern);
  if (!part) return [pattern];
  const options = part.range
    ? Array.from({ length: optionCount(part) }, (_, i) => String(part.range!.from + i).padStart(part.range!.width, '0'))
    : part.list!;
  const head = pattern.slice(0, part.open);
  const tails = expandCounted(pattern.slice(part.close + 1));
  return options.flatMap((o) => tails.map((t) => `${head}${o}${t}`));
}

/** Every pattern expanded, in order; at most MAX_SHARDS names in all (counted first), each listed once. */
export function expandShardPatterns(patterns: readonly string[]): string[] {
  let total = 0;
  for (const pattern of patterns) {
    total += countBraceExpansion(pattern);
    if (total > MAX_SHARDS) {
      throw new BraceError(patterns.length === 1 ? capMessage(pattern, total) : capMessage(`the ${patterns.length} shard patterns together`, total));
    }
  }
  const uris = patterns.flatMap((p) => expandCounted(p));
  const seen = new Set<string>();
  for (const uri of uris) {
    if (seen.has(uri)) throw new BraceError(`shard ${JSON.stringify(uri)} is listed twice; list each shard once`);
    seen.add(uri);
  }
  return uris;
}

/** Why a list of shard patterns cannot be expanded (bad braces, or over MAX_SHARDS names in all), counted without expanding; for the spec. */
export function shardListProblem(patterns: readonly string[]): string | undefined {
  let total = 0;
  for (const pattern of patterns) {
    const problem = braceExpansionProblem(pattern);
    if (problem) return problem;
    total += countBraceExpansion(pattern);
  }
  return total > MAX_SHARDS ? capMessage(`the ${patterns.length} shard patterns together`, total) : undefined;
}
