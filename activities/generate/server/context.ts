// What the generator server's handlers share: the model, the limits, and the defaults that shrink
// to the limits (so a request that leaves them out is always within them).
import { sha256Hex } from '../../../core/hash.js';
import type { GmmGeneratorModel } from '../gmm/model.js';
import { serializeGmmModel } from '../gmm/model-format.js';

export interface GeneratorServerLimits {
  /** Images per request (A1111 batch_size * n_iter, OpenAI n). */
  maxN: number;
  maxWidth: number;
  maxHeight: number;
  maxSteps: number;
  /** Request bodies larger than this get 413. */
  maxBodyBytes: number;
}

export const DEFAULT_SERVER_LIMITS: GeneratorServerLimits = {
  maxN: 8,
  maxWidth: 2048,
  maxHeight: 2048,
  maxSteps: 150,
  maxBodyBytes: 256 * 1024,
};

export const SERVED_MODEL_NAME = 'synthscale-embedded-gmm';
const DEFAULT_STEPS = 20;
export const DEFAULT_CFG_SCALE = 7;
export const MAX_PROMPT_CHARS = 4000;

export interface ServerContext {
  model: GmmGeneratorModel;
  limits: GeneratorServerLimits;
  defaults: { steps: number; width: number; height: number; size: string };
  /** Largest seed accepted (image i uses seed + i, which must stay a safe integer). */
  maxSeed: number;
  /** sha256 of the serialized model. */
  modelSha: string;
  /** The seed of a request that asks for a random one (-1 or none): a per-server hashed counter. */
  nextRandomSeed(): number;
}

export function serverContext(model: GmmGeneratorModel, limits: GeneratorServerLimits): ServerContext {
  let randomCounter = 0;
  return {
    model,
    limits,
    defaults: {
      steps: Math.min(DEFAULT_STEPS, limits.maxSteps),
      width: Math.min(512, limits.maxWidth),
      height: Math.min(512, limits.maxHeight),
      size: `${Math.min(1024, limits.maxWidth)}x${Math.min(1024, limits.maxHeight)}`,
    },
    maxSeed: Number.MAX_SAFE_INTEGER - limits.maxN,
    modelSha: sha256Hex(serializeGmmModel(model)),
    nextRandomSeed: () => Number.parseInt(sha256Hex(`synthscale-server-random-seed|${randomCounter++}`).slice(0, 8), 16),
  };
}
