// The prompt-strategy contract. A strategy first prepares (async: it may read WordNet, call an
// LLM or read a captions file), then gives the text of any one prompt synchronously from
// (class, index, per-prompt rng). So a prompt list is deterministic given (config, classes, count,
// seed, external data), and prompt i, for class i mod C, never depends on the list's length.
import type { Rng } from '../../core/rng.js';
import type { PromptConfigOf, PromptStrategyName } from '../../contracts/spec/prompts.js';
export type { Prompt, PromptProvenance } from '../../contracts/prompts.js';
import type { PromptProvenance } from '../../contracts/prompts.js';

export interface PromptContext {
  /** Field path of the prompt config in errors, e.g. "sources.1.prompts"; default "prompts". */
  field?: string;
  signal?: AbortSignal;
  /** Progress of long preparations (LLM calls): the activity heartbeats on it. */
  onProgress?: (progress: { done: number; total: number }) => void;
  /** Where secrets named by the config (llm.apiKeyEnv) are read; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The captions of a real-pairs source, in order, with their classes (UNLABELED: none), for `real-captions` with a `source`. */
  realCaptions?: { texts: readonly string[]; labels: ArrayLike<number> };
  /** First LLM retry delay in ms (tests shorten it). */
  retryBackoffMs?: number;
  /**
   * The dataset's WordNet ids per class, in class order ("n01440764"; null for a class without one):
   * the description and hypernym strategies take a class's synset from them when the config's
   * `synsets` and the built-in class metadata have none.
   */
  wnids?: readonly (string | null)[];
}

export interface PromptPlan {
  count: number;
  seed: number;
}

export interface PreparedPrompts {
  provenance: PromptProvenance;
  /** External data the prompts were built from (e.g. the LLM's sentences), stored beside them. */
  cache?: unknown;
  /** The class prompt `index` is for, when not `index mod C` (real captions name their own class). */
  classIndexFor?(index: number): number;
  /** Text of prompt `index`, for class `classIndex`; `rng` is this prompt's own generator. */
  textFor(classIndex: number, index: number, rng: Rng): string;
}

export interface PromptStrategy<S extends PromptStrategyName> {
  readonly description: string;
  /**
   * Identity of external data beyond the config (a file's hash, a package version), for the
   * prompt list's cache key. Strategies without external data omit it.
   */
  fingerprint?(config: PromptConfigOf<S>, ctx: PromptContext): Promise<unknown>;
  prepare(config: PromptConfigOf<S>, classes: readonly string[], plan: PromptPlan, ctx: PromptContext): Promise<PreparedPrompts>;
}
