import { inputHash } from '../../core/hash.js';
import { hasValidObject, putJson } from '../../core/storage.js';
import { log } from '@temporalio/activity';
import type { ActivityDeps } from '../context.js';
import { synthesizePromptList } from './strategies.js';
import { nonRetryable } from '../errors.js';

export const PROMPTS_CODE_VERSION = 'prompts-1';

export interface SynthesizePromptsInput {
  strategy: string;
  classes: string[];
  count: number;
  seed: number;
}

export interface SynthesizePromptsOutput {
  promptsUri: string;
  count: number;
  cached: boolean;
}

export function createPromptActivities(deps: ActivityDeps) {
  return {
    async synthesizePrompts(input: SynthesizePromptsInput): Promise<SynthesizePromptsOutput> {
      const key = `prompts/${inputHash('prompts', PROMPTS_CODE_VERSION, input)}.json`;
      if (await hasValidObject(deps.store, key, (m) => log.warn('regenerating corrupt prompt list', { reason: m }))) {
        return { promptsUri: deps.store.uri(key), count: input.count, cached: true };
      }
      const prompts = nonRetryable('InvalidPromptConfig', () =>
        synthesizePromptList(input.strategy, input.classes, input.count, input.seed),
      );
      const put = await putJson(deps.store, key, { strategy: input.strategy, seed: input.seed, prompts });
      return { promptsUri: put.uri, count: prompts.length, cached: false };
    },
  };
}
