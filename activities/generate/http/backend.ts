// The HTTP text-to-image APIs as a generation backend: nothing to load (the server holds the model),
// each item is one request, images come at the sweep's geometry (the shard request's), and what
// each image came back as is kept in its sample's metadata (no timings, so shard bytes stay
// reproducible). With the spec's `keepOriginals`, each image as returned is stored content-addressed
// at `originals/<sha256>.<ext>` in the shard's store and named in its metadata (meta.http.original).
import type { HttpGeneratorSpec } from '../../../contracts/spec/generators.js';
import { FASHION_MNIST_GEOMETRY, sameGeometry, type ImageGeometry } from '../../../core/image/geometry.js';
import type { SampleMeta } from '../../../core/shards/webdataset.js';
import { sha256Hex } from '../../../core/hash.js';
import type { BlobStore } from '../../../core/storage.js';
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
    ...(m.original === undefined ? {} : { original: m.original }),
  };
}

/** Whether a spec asks to keep each image as returned (contracts/spec/generators.ts `keepOriginals`, optional). */
export function keepsOriginals(spec: HttpGeneratorSpec): boolean {
  return (spec as { keepOriginals?: unknown }).keepOriginals === true;
}

const ORIGINAL_EXT: Readonly<Record<string, string>> = { png: 'png', jpeg: 'jpg', webp: 'webp' };

/** Store an image as returned at `originals/<sha256>.<ext>` (once: the key names its content); resolves to the key. */
export async function keepOriginal(store: BlobStore, bytes: Uint8Array, format: string): Promise<string> {
  const key = `originals/${sha256Hex(bytes)}.${ORIGINAL_EXT[format] ?? 'bin'}`;
  const head = await store.head(key).catch(() => null);
  if (!head || head.size !== bytes.byteLength) await store.put(key, bytes);
  return key;
}

/** The fingerprint part of the geometry: none at 28x28 grey, so those shards keep their fingerprints. */
function geometryInputs(geometry: ImageGeometry): Record<string, unknown> {
  return sameGeometry(geometry, FASHION_MNIST_GEOMETRY) ? {} : { geometry: { size: geometry.size, channels: geometry.channels } };
}

/** The backend of an HTTP API whose request and response shapes `apiFor` describes. */
export function httpGeneratorBackend<S extends HttpGeneratorSpec>(apiFor: (spec: S) => HttpApi): HttpGeneratorBackend<S> {
  const itemGenerator = (spec: S, opts: HttpItemGeneratorOptions = {}) => httpItemGenerator(apiFor(spec), spec, opts);
  return {
    itemGenerator,
    fingerprintInputs: (spec, request) => ({ http: HTTP_BACKEND_CODE_VERSION, generator: spec, ...geometryInputs(request.geometry) }),
    async load(spec, input, store, request) {
      const kept = new Map<number, NonNullable<SampleMeta['http']>>();
      const { geometry } = request;
      return {
        classes: input.classes ?? [],
        geometry,
        itemGenerator: () =>
          itemGenerator(spec, {
            geometry,
            onImage: (item, m) => kept.set(item.index, sampleMeta(m)),
            ...(keepsOriginals(spec) ? { keepOriginal: (bytes: Uint8Array, format: string) => keepOriginal(store, bytes, format) } : {}),
          }),
        takeSampleMeta(index) {
          const http = kept.get(index);
          kept.delete(index);
          return http ? { http } : {};
        },
      };
    },
  };
}
