// Generator kinds, as the generation stage runs them: one entry per GeneratorSpec name, each kind's
// code in its own module. Adding a kind adds its schema (contracts/spec) and an entry here (an
// HTTP API: its request/response module under ./http, wrapped by httpGeneratorBackend).
import type { HttpGeneratorSpec } from '../../contracts/spec/generators.js';
import type { GeneratorSpec } from '../../contracts/spec/sweep.js';
import { EMBEDDED_DENOISER_BACKEND } from './denoiser/backend.js';
import { EMBEDDED_GMM_BACKEND } from './gmm/backend.js';
import type { GeneratorBackend, ShardGenerator, ShardRequest } from './generator-backend.js';
import { a1111Api } from './http/a1111.js';
import { httpGeneratorBackend, type HttpGeneratorBackend } from './http/backend.js';
import type { HttpItemGeneratorOptions } from './http/item-generator.js';
import { openAiImagesApi } from './http/openai-images.js';
import type { GenerateShardInput } from './io.js';
import type { ItemGenerator } from './item-generator.js';
import type { BlobStore } from '../../core/storage.js';

type GeneratorOf<N extends GeneratorSpec['name']> = Extract<GeneratorSpec, { name: N }>;

export const GENERATOR_BACKENDS: { readonly [N in GeneratorSpec['name']]: GeneratorBackend<GeneratorOf<N>> } = {
  'embedded-gmm': EMBEDDED_GMM_BACKEND,
  'embedded-denoiser': EMBEDDED_DENOISER_BACKEND,
  a1111: httpGeneratorBackend(a1111Api),
  'openai-images': httpGeneratorBackend(openAiImagesApi),
};

/** A shard's generator backend, bound to its spec. */
export interface ShardBackend {
  fingerprintInputs(): Record<string, unknown>;
  load(input: GenerateShardInput, store: BlobStore): Promise<ShardGenerator>;
}

/** The backend of a shard input's generator; none named is the embedded generator. */
export function shardBackend(spec: GeneratorSpec | undefined, request: ShardRequest): ShardBackend {
  // The entry under spec.name takes that spec; TypeScript cannot correlate the two, hence the cast.
  const entry = GENERATOR_BACKENDS[spec?.name ?? 'embedded-gmm'] as GeneratorBackend<GeneratorSpec | undefined>;
  return { fingerprintInputs: () => entry.fingerprintInputs(spec, request), load: (input, store) => entry.load(spec, input, store, request) };
}

/** An ItemGenerator that renders each item through the remote API described by `spec`. */
export function createHttpItemGenerator(spec: HttpGeneratorSpec, opts: HttpItemGeneratorOptions = {}): ItemGenerator {
  // As in shardBackend: the entry under spec.name is the HTTP backend of that spec's API.
  return (GENERATOR_BACKENDS[spec.name] as HttpGeneratorBackend<HttpGeneratorSpec>).itemGenerator(spec, opts);
}
