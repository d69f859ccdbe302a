// Temporal adapter of the prompt stage: builds a source's prompt list once per content key and
// stores it as JSON ({ strategy, config, seed, provenance, prompts, cache? }). The key hashes the
// prompt config (which names an LLM key's environment variable, never its value), the classes,
// count, seed and the identity of external data (captions file hash, WordNet package version).
import { FAILURE_TYPES } from '../../contracts/failures.js';
import { ApplicationFailure, cancellationSignal, heartbeat, log } from '@temporalio/activity';
import { inputHash } from '../../core/hash.js';
import { ChecksumMismatchError, getJson, NotFoundError, putJson, type BlobStore } from '../../core/storage.js';
import type { ActivityDeps } from '../../core/activity-deps.js';
import { readManifest } from '../../core/shards/manifest.js';
import { openFirstSamples } from '../../core/shards/stream.js';
import { parsePromptConfig, PromptConfigError, type PromptConfigInput } from '../../contracts/spec/prompts.js';
import { LlmError } from './llm.js';
import { buildPromptList, promptFingerprint, type PromptProvenance } from './strategies.js';

/** prompts-2: prompt config objects (six strategies), provenance in the output and the list; prompts-3: WordNet text that names another class is not used. */
export { PROMPTS_CODE_VERSION } from '../../contracts/code-versions.js';
import { PROMPTS_CODE_VERSION } from '../../contracts/code-versions.js';

const MAX_PROMPT_LIST_BYTES = 64 * 1024 * 1024;

export interface SynthesizePromptsInput {
  /** The source's prompt config, e.g. { strategy: 'clip-templates' } (core/spec.ts `prompts`). */
  prompts?: PromptConfigInput;
  /**
   * @deprecated The strategy name alone, as workflows scheduled it before prompt configs (kept so
   * tasks scheduled by an older workflow version still run during a rolling deploy): use `prompts`.
   */
  strategy?: string;
  classes: string[];
  /**
   * The dataset's WordNet ids per class, in class order (plan.dataset.wnids: "n01440764", null for a
   * class without one): classname-description and classname-hypernym read a class's synset from them.
   * Absent for datasets without wnids (Fashion-MNIST), and in tasks scheduled before datasets had them.
   */
  wnids?: (string | null)[];
  count: number;
  seed: number;
  /** Field path of `prompts` for error messages, e.g. "sources.1.prompts" (not part of the key). */
  field?: string;
  /** `real-captions` with a `source`: that real-pairs source's manifest, whose captions are the prompts. */
  captionsManifestUri?: string;
}

export interface SynthesizePromptsOutput {
  promptsUri: string;
  count: number;
  cached: boolean;
  /** Where the text came from (strategy, source such as 'llm' or 'template-grammar', model, a summary line). */
  provenance: PromptProvenance;
}

interface PromptListDoc {
  prompts: unknown[];
  provenance: PromptProvenance;
}

/** Bad input fails without retries; an LLM that is merely unreachable stays retryable. */
async function classify<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof PromptConfigError || (err instanceof LlmError && !err.retryable)) {
      throw ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.invalidPromptConfig);
    }
    throw err;
  }
}

/** A stored list that still verifies and parses, else null (a corrupt one is regenerated). */
async function readStored(store: BlobStore, key: string): Promise<PromptListDoc | null> {
  if (!(await store.head(key))) return null;
  try {
    const doc = await getJson<PromptListDoc>(store, key, MAX_PROMPT_LIST_BYTES);
    if (Array.isArray(doc?.prompts) && doc.provenance && typeof doc.provenance.summary === 'string') return doc;
    log.warn('regenerating a prompt list without provenance', { key });
  } catch (err) {
    if (!(err instanceof ChecksumMismatchError || err instanceof NotFoundError || err instanceof SyntaxError)) throw err;
    log.warn('regenerating corrupt prompt list', { key, reason: (err as Error).message });
  }
  return null;
}

/** Every caption of a real-pairs source, in order, with its class label. */
async function readCaptions(store: BlobStore, manifestUri: string): Promise<{ texts: string[]; labels: Uint8Array }> {
  const manifest = await readManifest(store, manifestUri);
  const stream = openFirstSamples(store, manifest, manifest.totalSamples);
  const all = Array.from({ length: manifest.totalSamples }, (_, i) => i);
  const labels = new Uint8Array(all.length);
  const texts = await stream.gatherTexts(all, (s) => {
    labels[s.index] = s.label;
    return s.prompt ?? '';
  });
  return { texts, labels };
}

/** The strategies that take a class's synset from the dataset's WordNet ids. */
function readsWnids(strategy: string): boolean {
  return strategy === 'classname-description' || strategy === 'classname-hypernym';
}

export function createPromptActivities(deps: ActivityDeps) {
  return {
    async synthesizePrompts(input: SynthesizePromptsInput): Promise<SynthesizePromptsOutput> {
      const field = input.field ?? 'prompts';
      const config = await classify(async () => parsePromptConfig(input.prompts ?? input.strategy, field));
      const external = await classify(() => promptFingerprint(config, { field }));
      const captionsManifest = input.captionsManifestUri ? await deps.store.head(deps.store.keyOf(input.captionsManifestUri)) : null;
      if (input.captionsManifestUri && !captionsManifest) throw new Error(`${input.captionsManifestUri} does not exist`);
      const wnids = readsWnids(config.strategy) && input.wnids?.some((w) => w !== null) ? input.wnids : undefined;
      const key = `prompts/${inputHash('prompts', PROMPTS_CODE_VERSION, {
        prompts: config,
        classes: input.classes,
        // Only where a strategy reads them, so lists of other strategies (and of datasets without wnids) keep their keys.
        ...(wnids ? { wnids } : {}),
        count: input.count,
        seed: input.seed,
        external,
        ...(captionsManifest ? { captionsManifest: captionsManifest.sha256 } : {}),
      })}.json`;
      const stored = await readStored(deps.store, key);
      if (stored) return { promptsUri: deps.store.uri(key), count: stored.prompts.length, cached: true, provenance: stored.provenance };
      const realCaptions = input.captionsManifestUri ? await readCaptions(deps.store, input.captionsManifestUri) : undefined;
      const list = await classify(() =>
        buildPromptList(config, input.classes, input.count, input.seed, {
          field,
          signal: cancellationSignal(),
          onProgress: (progress) => heartbeat(progress),
          ...(realCaptions ? { realCaptions } : {}),
          ...(input.wnids && readsWnids(config.strategy) ? { wnids: input.wnids } : {}),
        }),
      );
      const put = await putJson(deps.store, key, { strategy: config.strategy, config, seed: input.seed, provenance: list.provenance, prompts: list.prompts, cache: list.cache });
      log.info('prompt list built', { strategy: config.strategy, count: list.prompts.length, source: list.provenance.source });
      return { promptsUri: put.uri, count: list.prompts.length, cached: false, provenance: list.provenance };
    },
  };
}
