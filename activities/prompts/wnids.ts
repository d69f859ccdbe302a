// WordNet ids as datasets give them ("n01440764", the ImageNet convention): "n" for noun, then the
// synset's 8-digit byte offset in WordNet 3.0's data.noun, which core/text/wordnet.ts reads
// (openWordNet(...).synset(offset)). So the lookup by wnid is the lookup by offset; only the id's
// form is checked here, and a wnid that is no synset's offset fails when WordNet is read.
import { PromptConfigError } from '../../contracts/spec/prompts.js';

const WNID = /^n(\d{8})$/;

/** Whether `value` has the form of a noun wnid. */
export function isWnid(value: unknown): value is string {
  return typeof value === 'string' && WNID.test(value);
}

/** The WordNet 3.0 data.noun offset of a noun wnid ("n01440764" -> "01440764"); a malformed id is an error at `where`. */
export function synsetOffsetOfWnid(wnid: string, where: string): string {
  const match = typeof wnid === 'string' ? WNID.exec(wnid) : null;
  if (!match) {
    const shown = typeof wnid === 'string' ? JSON.stringify(wnid.slice(0, 40)) : String(wnid);
    throw new PromptConfigError(where, `${shown} is not a WordNet noun id: use "n" and the synset's 8-digit WordNet 3.0 offset, e.g. "n01440764" (tench)`);
  }
  return match[1]!;
}
