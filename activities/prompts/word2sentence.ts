// word2sentence: a sentence around the class name. With `llm` configured, an OpenAI-compatible
// chat API writes `sentencesPerClass` sentences per class (prompt i uses sentence
// floor(i / C) mod sentencesPerClass of class i mod C), each requested deterministically (temperature
// 0, a seed and a scene hint derived from (seed, class, sentence number)); only the sentences a
// list of this length uses are requested, and they are kept in the prompt list (its `cache`).
// A sentence that fails the checks (no class name, too long) is replaced by the template
// grammar's, and counted; an endpoint that never gives a usable sentence is an error. Without
// `llm`, the template grammar writes every sentence. The provenance says which was used.
import { fashionMnistClassInfo } from '../../core/datasets/fashion-mnist-classes.js';
import { createRng, seedFromString } from '../../core/rng.js';
import { PromptConfigError, type PromptConfigOf } from '../../contracts/spec/prompts.js';
import { grammarSentence, sceneHint } from '../../core/text/grammar.js';
import { LlmError, requestSentence, type SentenceResult } from './llm.js';
import type { PreparedPrompts, PromptContext, PromptPlan, PromptStrategy } from './types.js';

export interface CachedSentence {
  classIndex: number;
  sentence: number;
  text?: string;
  /** Why the LLM's answer was not used (the prompt then uses the template grammar). */
  rejected?: string;
}

const categoryOf = (name: string) => fashionMnistClassInfo(name)?.category;

/** Run `tasks` with at most `limit` in flight; the first failure stops new ones and is thrown. */
async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < tasks.length) {
      const i = next++;
      try {
        results[i] = await tasks[i]!();
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

async function prepareWithLlm(
  config: PromptConfigOf<'word2sentence'>,
  classes: readonly string[],
  plan: PromptPlan,
  ctx: PromptContext,
): Promise<PreparedPrompts> {
  const endpoint = config.llm!;
  const field = ctx.field ?? 'prompts';
  const env = ctx.env ?? process.env;
  const apiKey = endpoint.apiKeyEnv ? env[endpoint.apiKeyEnv] : undefined;
  if (endpoint.apiKeyEnv && !apiKey) {
    throw new PromptConfigError(`${field}.llm.apiKeyEnv`, `environment variable ${endpoint.apiKeyEnv} is not set on the worker; set it there (the key is never written to the spec)`);
  }
  const C = classes.length;
  const K = config.sentencesPerClass;
  // The (class, sentence) pairs this list uses: prompts [0, min(count, C*K)) cover them all.
  const wanted: { classIndex: number; sentence: number }[] = [];
  for (let i = 0; i < Math.min(plan.count, C * K); i++) wanted.push({ classIndex: i % C, sentence: Math.floor(i / C) });
  const controller = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, controller.signal]) : controller.signal;
  let done = 0;
  const tasks = wanted.map(({ classIndex, sentence }) => async (): Promise<SentenceResult> => {
    const className = classes[classIndex]!;
    const key = `word2sentence|${plan.seed}|${className}|${sentence}`;
    const result = await requestSentence(
      { endpoint, apiKey, signal, backoffMs: ctx.retryBackoffMs },
      { className, hint: sceneHint(createRng(`${key}|hint`)), seed: seedFromString(key) & 0x7fffffff },
    );
    ctx.onProgress?.({ done: ++done, total: tasks.length });
    return result;
  });
  let results: SentenceResult[];
  try {
    results = await pool(tasks, endpoint.concurrency);
  } catch (err) {
    // A refusal or a non-chat answer is a config problem; transport trouble stays retryable.
    if (err instanceof LlmError && !err.retryable) throw new PromptConfigError(`${field}.llm`, err.message);
    throw err;
  } finally {
    controller.abort();
  }
  const cache: CachedSentence[] = wanted.map((w, i) => {
    const r = results[i]!;
    return r.ok ? { ...w, text: r.text } : { ...w, rejected: r.reason };
  });
  const usable = cache.filter((s) => s.text !== undefined).length;
  if (cache.length > 0 && usable === 0) {
    throw new PromptConfigError(
      `${field}.llm`,
      `none of ${cache.length} sentences from ${endpoint.model} at ${endpoint.baseUrl} was usable (first: ${cache[0]!.rejected}); check the model, or drop llm to use the template grammar`,
    );
  }
  const fallbacks = cache.length - usable;
  const byKey = new Map(cache.map((s) => [`${s.classIndex}|${s.sentence}`, s.text]));
  return {
    provenance: {
      strategy: 'word2sentence',
      source: 'llm',
      model: endpoint.model,
      endpoint: endpoint.baseUrl,
      llmSentences: usable,
      llmFallbacks: fallbacks,
      summary:
        `sentences from LLM ${endpoint.model} at ${endpoint.baseUrl} (${usable} of ${cache.length} used` +
        (fallbacks ? `; ${fallbacks} rejected and replaced by the template grammar)` : ')'),
    },
    cache: { sentences: cache },
    textFor(classIndex, index, rng) {
      const text = byKey.get(`${classIndex}|${Math.floor(index / C) % K}`);
      return text ?? grammarSentence(classes[classIndex]!, categoryOf(classes[classIndex]!), rng);
    },
  };
}

export const word2sentence: PromptStrategy<'word2sentence'> = {
  description: 'a sentence around the class name, from an LLM endpoint when configured, else a template grammar',
  async prepare(config, classes, plan, ctx) {
    if (config.llm) return prepareWithLlm(config, classes, plan, ctx);
    return {
      provenance: {
        strategy: 'word2sentence',
        source: 'template-grammar',
        summary: 'sentences from the built-in template grammar (no LLM endpoint configured)',
      },
      textFor: (classIndex, _index, rng) => grammarSentence(classes[classIndex]!, categoryOf(classes[classIndex]!), rng),
    };
  },
};
