// The AUTOMATIC1111 / Forge web UI API: POST {baseUrl}/sdapi/v1/txt2img, one image per call.
// Steps: item.steps is what the sweep means (the workflow passes the spec's `steps` into every
// item and the shard fingerprint), so it is sent as is, and must be a positive integer.
import type { A1111GeneratorSpec } from '../../../contracts/spec/generators.js';
import { checkStatedSize, decodeBase64Image, imageList, sizeOf, type Decoded, type HttpApi } from './api.js';
import { GeneratorHttpError } from './errors.js';
import { endpointUrl } from './post-json.js';

export function a1111Api(spec: A1111GeneratorSpec): HttpApi {
  // The latent is 1/8 of the image: A1111 and Forge return each side rounded down to a multiple of 8.
  const floor8 = (v: number) => Math.max(8, v - (v % 8));
  const sizes = [{ width: spec.width, height: spec.height }];
  if (floor8(spec.width) !== spec.width || floor8(spec.height) !== spec.height) sizes.push({ width: floor8(spec.width), height: floor8(spec.height) });
  return {
    url: endpointUrl(spec.baseUrl, 'sdapi/v1/txt2img'),
    sizes,
    checkItem(item, where) {
      if (!(Number.isInteger(item.steps) && item.steps >= 1)) {
        throw new GeneratorHttpError('config', `${where}: item ${item.index} has steps=${item.steps}, expected a positive integer`, { transient: false });
      }
    },
    request: (item, seed) => ({
      prompt: item.prompt.text,
      negative_prompt: spec.negativePrompt,
      seed,
      steps: item.steps,
      cfg_scale: item.cfgScale,
      width: spec.width,
      height: spec.height,
      batch_size: 1,
      n_iter: 1,
      sampler_name: spec.samplerName,
      send_images: true,
      save_images: false,
    }),
    parse(json, where, expect) {
      const [image] = imageList(json, 'images', where);
      const out: Decoded = { image: decodeBase64Image(image, where) };
      // `info` is a JSON string with the seed and size actually used.
      const info = (json as Record<string, unknown>).info;
      if (typeof info === 'string' && info.length < 1_000_000) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(info);
        } catch {
          /* not JSON: ignore */
        }
        if (parsed && typeof parsed === 'object') {
          const fields = parsed as Record<string, unknown>;
          if (Number.isSafeInteger(fields.seed)) out.reportedSeed = fields.seed as number;
          checkStatedSize(sizeOf(fields), expect, where, 'info');
        }
      }
      return out;
    },
  };
}
