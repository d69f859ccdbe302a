// The HTTP text-to-image APIs as a generation backend: nothing to load (the server holds the model),
// each item is one request, and what each image came back as is kept in its sample's metadata (no
// timings, so shard bytes stay reproducible).
import type { HttpGeneratorSpec } from '../../../contracts/spec/generators.js';
import type { SampleMeta } from '../../../core/shards/webdataset.js';
import type { GeneratorBackend } from '../generator-backend.js';
import type { ItemGenerator } from '../item-generator.js';
import type { HttpApi } from './api.js';
import { HTTP_BACKEND_CODE_VERSION, httpItemGenerator, type HttpImageMeta, type HttpItemGeneratorOptions } from './item-generator.js';

export interface HttpGeneratorBackend<S extends HttpGeneratorSpec> extends GeneratorBackend<S> {
  /** An ItemGenerator that renders each item through the remote API described by `spec`. */
  itemGenerator(spec: S, opts?: HttpItemGeneratorOptions): ItemGenerator;
}

/** The sample metadata of an HTTP image. */
function sampleMeta(m: HttpImageMeta): NonNullable<SampleMeta['http']> {
  return {
    endpoint: m.endpoint,
    seed: m.seed,
    ...(m.reportedSeed === undefined ? {} : { reportedSeed: m.reportedSeed }),
    ...(m.revisedPrompt === undefined ? {} : { revisedPrompt: m.revisedPrompt }),
    format: m.source.format,
    width: m.source.width,
    height: m.source.height,
    bytes: m.source.bytes,
  };
}

/** The backend of an HTTP API whose request and response shapes `apiFor` describes. */
export function httpGeneratorBackend<S extends HttpGeneratorSpec>(apiFor: (spec: S) => HttpApi): HttpGeneratorBackend<S> {
  const itemGenerator = (spec: S, opts: HttpItemGeneratorOptions = {}) => httpItemGenerator(apiFor(spec), spec, opts);
  return {
    itemGenerator,
    fingerprintInputs: (spec) => ({ http: HTTP_BACKEND_CODE_VERSION, generator: spec }),
    async load(spec, input) {
      const kept = new Map<number, NonNullable<SampleMeta['http']>>();
      return {
        classes: input.classes ?? [],
        itemGenerator: () => itemGenerator(spec, { onImage: (item, m) => kept.set(item.index, sampleMeta(m)) }),
        takeSampleMeta(index) {
          const http = kept.get(index);
          kept.delete(index);
          return http ? { http } : {};
        },
      };
    },
  };
}
