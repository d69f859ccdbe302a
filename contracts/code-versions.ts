// Code versions that name artifacts other stages look up: bump one when its stage's code changes
// what it computes, so content keys change and nothing stale is reused.

/** The embedded generator's model and sampler (part of every synthetic source's key); 3: fitted on the generator pool only. */
export const GENERATOR_CODE_VERSION = 'gmm-ddim-3';

/** Prompt synthesis (part of every synthetic source's key). */
export const PROMPTS_CODE_VERSION = 'prompts-3';
