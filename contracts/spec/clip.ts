// The CLIP recipe's schema, apart from the training code: core/spec.ts validates specs with it, and
// the CLI should not load TF.js to read a spec.
import { z } from 'zod';
import { MODEL_ARCHS } from '../../core/nn/models/names.js';

export const ClipTrainingSchema = z
  .object({
    arch: z
      .enum(MODEL_ARCHS)
      .default('mlp')
      .describe("image tower: the classifier trunk ('mlp' dense ReLU layers, 'cnn' conv stack then dense layers) without its 10-way layer"),
    hidden: z.array(z.number().int().min(1).max(4096)).max(4).default([256]),
    embedDim: z.number().int().min(2).max(1024).default(64).describe('width of the shared image/text embedding'),
    tokenWidth: z.number().int().min(1).max(1024).default(64).describe('width of the token embeddings the text tower mean-pools'),
    maxTokens: z.number().int().min(1).max(256).default(32).describe('caption tokens read; longer captions are cut'),
    maxVocabulary: z.number().int().min(2).max(65536).default(4096).describe('vocabulary size built from the captions, [PAD] and [UNK] included'),
    minTokenCount: z.number().int().min(1).default(1).describe('caption words seen fewer times become [UNK]'),
    epochs: z.number().int().min(1).max(1000).default(30).describe('passes over the pairs at every N (early stopping may end sooner)'),
    minSteps: z.number().int().min(0).default(0).describe('train at least this many steps; above 0, small N get more epochs than large N'),
    schedule: z.enum(['constant', 'cosine']).default('cosine'),
    weightDecay: z.number().min(0).max(1).default(0.0001),
    validationFraction: z.number().min(0).max(0.5).default(0.1).describe("pairs held out from the cell's own N for early stopping"),
    patience: z.number().int().min(0).max(1000).default(5).describe('epochs without a lower validation loss before stopping (0: never)'),
    batchSize: z.number().int().min(2).max(4096).default(256).describe('pairs per step; every other pair in the batch is a negative'),
    learningRate: z.number().positive().max(1).default(0.001),
    checkpointEvery: z.number().int().min(1).default(500),
    shuffleWindow: z.number().int().min(1).default(16384),
    backend: z.enum(['auto', 'wasm', 'cpu', 'tensorflow']).default('auto'),
  })
  .strict();

/** A cell's CLIP recipe, with defaults filled in. */
export type ClipRecipe = z.output<typeof ClipTrainingSchema>;
