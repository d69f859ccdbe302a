// The prompt config schema: today's configs pass unchanged, each strategy's options are checked
// strictly, and errors name the field and the fix.
// Run: node --import tsx --test test/prompts-config.test.ts
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { parsePromptConfig, PROMPT_STRATEGY_NAMES, PromptConfigError, PromptConfigSchema } from '../../../contracts/spec/prompts.js';
import { PROMPT_STRATEGY_REGISTRY } from '../../../activities/prompts/strategies.js';

function messageOf(raw: unknown, field?: string): string {
  try {
    parsePromptConfig(raw, field);
  } catch (err) {
    assert.ok(err instanceof PromptConfigError);
    return err.message;
  }
  assert.fail(`expected ${JSON.stringify(raw)} to be rejected`);
}

test("today's configs parse unchanged, and every registry entry has a schema branch", () => {
  assert.deepEqual(PromptConfigSchema.parse({ strategy: 'classnames' }), { strategy: 'classnames' });
  assert.deepEqual(PromptConfigSchema.parse({ strategy: 'clip-templates' }), { strategy: 'clip-templates' });
  assert.deepEqual([...PROMPT_STRATEGY_NAMES].sort(), Object.keys(PROMPT_STRATEGY_REGISTRY).sort());
  for (const strategy of PROMPT_STRATEGY_NAMES) assert.equal(PromptConfigSchema.parse({ strategy }).strategy, strategy);
});

test('defaults fill the tuning knobs; a legacy strategy name reads as { strategy }', () => {
  assert.deepEqual(parsePromptConfig('classnames'), { strategy: 'classnames' });
  assert.deepEqual(parsePromptConfig({ strategy: 'word2sentence', llm: { baseUrl: 'http://127.0.0.1:1/v1', model: 'm' } }), {
    strategy: 'word2sentence',
    sentencesPerClass: 20,
    llm: { baseUrl: 'http://127.0.0.1:1/v1', model: 'm', timeoutMs: 30000, maxRetries: 3, concurrency: 4 },
  });
  assert.deepEqual(parsePromptConfig({ strategy: 'captions' }), { strategy: 'captions', format: 'auto', maxFileBytes: 64 * 1024 * 1024 });
});

test('an unknown strategy names the field and lists the known ones, also nested in a spec', () => {
  assert.equal(
    messageOf({ strategy: 'haiku' }, 'sources.1.prompts'),
    `sources.1.prompts.strategy: unknown prompt strategy "haiku"; use one of: ${PROMPT_STRATEGY_NAMES.join(', ')}`,
  );
  assert.match(messageOf({}), /^prompts\.strategy: unknown prompt strategy undefined/);
  // As core/spec.ts will embed it: the path runs through the spec.
  const spec = z.object({ sources: z.array(z.object({ prompts: PromptConfigSchema })) });
  const issue = spec.safeParse({ sources: [{ prompts: { strategy: 'classnames' } }, { prompts: { strategy: 'poem' } }] }).error?.issues[0];
  assert.deepEqual(issue?.path, ['sources', 1, 'prompts', 'strategy']);
  assert.match(issue?.message ?? '', /unknown prompt strategy "poem"; use one of: classnames, clip-templates/);
});

test('options are strict and checked per strategy', () => {
  assert.match(messageOf({ strategy: 'classnames', templates: ['{name}'] }), /Unrecognized key: "templates"/);
  assert.match(messageOf({ strategy: 'classname-description', templates: ['{name} only'] }), /prompts\.templates\.0: each template must contain \{name\} and \{gloss\}/);
  assert.match(messageOf({ strategy: 'classname-hypernym', templates: ['{gloss} {name}'] }), /must contain \{name\} and \{hypernym\}/);
  assert.match(messageOf({ strategy: 'classname-description', synsets: { Hat: { offset: 'n03497657', lemma: 'hat' } } }), /prompts\.synsets\.Hat\.offset: a WordNet 3\.0 data\.noun offset: 8 digits/);
  assert.ok(parsePromptConfig({ strategy: 'classname-hypernym', synsets: { Hat: [{ offset: '03497657', lemma: 'hat' }] } }));
  assert.match(messageOf({ strategy: 'word2sentence', sentencesPerClass: 0 }), /prompts\.sentencesPerClass/);
});

test('an LLM endpoint holds no secret: credentials in the URL and key-like apiKeyEnv values are refused', () => {
  const llm = (extra: object) => ({ strategy: 'word2sentence', llm: { baseUrl: 'https://api.example.com/v1', model: 'gpt', ...extra } });
  assert.match(messageOf(llm({ baseUrl: 'https://user:sk-secret@api.example.com/v1' })), /prompts\.llm\.baseUrl: an http\(s\) URL without credentials/);
  assert.match(messageOf(llm({ baseUrl: 'ftp://api.example.com' })), /prompts\.llm\.baseUrl/);
  assert.match(messageOf(llm({ baseUrl: 'https://api.example.com/v1?api-key=sk-secret' })), /prompts\.llm\.baseUrl: an http\(s\) URL without credentials or query/);
  assert.match(messageOf(llm({ apiKeyEnv: 'sk-proj-abc123' })), /prompts\.llm\.apiKeyEnv: the NAME of an environment variable/);
  assert.equal(parsePromptConfig(llm({ apiKeyEnv: 'OPENAI_API_KEY' })).strategy, 'word2sentence');
});

test('a captioning endpoint is reported as unsupported, with the alternative', () => {
  assert.match(messageOf({ strategy: 'captions', captioner: { baseUrl: 'http://x' } }), /prompts\.captioner: a captioning endpoint is not supported yet: .* give the captions as `file`/);
});
