// Remote text-to-image backends behind the per-item seam (ItemGenerator in ../item-generator.ts):
// each call sends one prompt to the API (./a1111.ts, ./openai-images.ts) and expects exactly one
// image back, which is decoded and brought to the sweep's geometry with sharp by the dataset
// import's rule (core/image/resize.ts toGeometryPixels: shorter side to `size`, centre crop; RGB
// when the sweep's images have 3 channels) and re-encoded as our canonical PNG (28x28 grey by
// default), so stored bytes do not depend on the server's PNG encoder. Optionally the image as
// returned is kept too (keepOriginal: content-addressed by the caller). Servers are untrusted: every guard is shared
// (./post-json.ts, ./body.ts, ./api.ts), and each failure is a GeneratorHttpError (./errors.ts).
//
// Seeds: item.seed is a string ("<generationSeed>|<index>"); both APIs take an integer, so we send
// the first 32 bits of sha256("synthscale-http-seed|" + item.seed): deterministic, uniform, and the
// same number through both APIs, so a server that honours seeds gives the same image either way.
import { sha256Hex } from '../../../core/hash.js';
import { FASHION_MNIST_GEOMETRY, type ImageGeometry } from '../../../core/image/geometry.js';
import type { HttpGeneratorSpec } from '../../../contracts/spec/generators.js';
import type { SourceImageInfo } from '../../../core/image/resize.js';
import type { GenerateItem, ItemGenerator } from '../item-generator.js';
import { toPng, type HttpApi } from './api.js';
import { readAuth } from './auth.js';
import { describeUrl, postJson } from './post-json.js';

/** Part of the shard fingerprint of HTTP-generated samples: bump when the request, the checks or the decode/resize change. */
export const HTTP_BACKEND_CODE_VERSION = 'http-sharp-cover-3';

/** What came back besides the pixels: for the sample's metadata. */
export interface HttpImageMeta {
  backend: HttpGeneratorSpec['name'];
  /** host + path of the endpoint. */
  endpoint: string;
  /** The seed we sent. */
  seed: number;
  /** The seed the server says it used (A1111 `info.seed`), when it says. */
  reportedSeed?: number;
  /** OpenAI `revised_prompt`, when given (truncated to 1000 characters). */
  revisedPrompt?: string;
  /** The image as returned, before resizing. */
  source: SourceImageInfo & { bytes: number };
  /** Where the image as returned was kept (keepOriginal's answer), when it was. */
  original?: string;
  ms: number;
}

export interface HttpItemGeneratorOptions {
  /** Where the credentials named by `apiKeyEnv` or `basicAuth` are read, at each call (default process.env). */
  env?: NodeJS.ProcessEnv;
  fetchImpl?: typeof fetch;
  /** Called with each image's metadata before the PNG is returned. */
  onImage?: (item: GenerateItem, meta: HttpImageMeta) => void;
  /** What images are brought to (default 28x28 grey). */
  geometry?: ImageGeometry;
  /** Keep a usable image as returned (bytes, format: png, jpeg or webp); resolves to where it is (recorded as meta.original). */
  keepOriginal?: (bytes: Uint8Array, format: string) => Promise<string>;
}

/** The integer seed sent for an item's seed string (uint32). */
export function httpSeed(seed: string): number {
  return Number.parseInt(sha256Hex(`synthscale-http-seed|${seed}`).slice(0, 8), 16);
}

/** An ItemGenerator that renders each item through `api`, the remote API described by `spec`. */
export function httpItemGenerator(api: HttpApi, spec: HttpGeneratorSpec, opts: HttpItemGeneratorOptions = {}): ItemGenerator {
  const where = describeUrl(api.url);
  const fetchImpl = opts.fetchImpl ?? globalThis.fetch;
  return async (item, signal) => {
    const started = Date.now();
    const auth = readAuth(spec, opts.env ?? process.env, where);
    api.checkItem?.(item, where);
    const seed = httpSeed(item.seed);
    const json = await postJson({ url: api.url, body: api.request(item, seed), spec, auth, signal, fetchImpl });
    const expect = spec.checkSize ? api.sizes : undefined;
    const decoded = api.parse(json, where, expect);
    const geometry = opts.geometry ?? FASHION_MNIST_GEOMETRY;
    const { png, source } = await toPng(decoded.image, { geometry, maxPixels: spec.maxPixels, ...(expect ? { expectSizes: expect } : {}) }, where);
    const original = opts.keepOriginal ? await opts.keepOriginal(decoded.image, source.format) : undefined;
    opts.onImage?.(item, {
      backend: spec.name,
      endpoint: where,
      seed,
      ...(decoded.reportedSeed === undefined ? {} : { reportedSeed: decoded.reportedSeed }),
      ...(decoded.revisedPrompt === undefined ? {} : { revisedPrompt: decoded.revisedPrompt }),
      source: { ...source, bytes: decoded.image.byteLength },
      ...(original === undefined ? {} : { original }),
      ms: Date.now() - started,
    });
    return png;
  };
}
