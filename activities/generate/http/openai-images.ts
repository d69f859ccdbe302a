// An OpenAI-compatible images API: POST {baseUrl}/images/generations, one b64_json image per call.
// Its spec has no steps: a positive item.steps is sent as the `steps` extra (with extraFields),
// anything else (e.g. 0) leaves it to the server's default.
import { parseImageSize, type OpenAiImagesGeneratorSpec } from '../../../contracts/spec/generators.js';
import { checkStatedSize, decodeBase64Image, imageList, type Decoded, type HttpApi } from './api.js';
import { badResponse, GeneratorHttpError } from './errors.js';
import { endpointUrl } from './post-json.js';

export function openAiImagesApi(spec: OpenAiImagesGeneratorSpec): HttpApi {
  const size = parseImageSize(spec.size);
  if (!size) throw new GeneratorHttpError('config', `openai-images: size ${JSON.stringify(spec.size)} is not WIDTHxHEIGHT`, { transient: false });
  return {
    url: endpointUrl(spec.baseUrl, 'images/generations'),
    sizes: [size],
    request: (item, seed) => ({
      model: spec.model,
      prompt: item.prompt.text,
      n: 1,
      size: spec.size,
      response_format: 'b64_json',
      // Extensions, honoured by `synthscale serve-generator` (and some self-hosted servers). The
      // OpenAI API has no seed or guidance scale: it ignores or rejects them, so sweeps there are
      // not seed-reproducible and CFG is not controllable. Turn off with extraFields: false.
      ...(spec.extraFields ? { seed, cfg_scale: item.cfgScale, ...(Number.isInteger(item.steps) && item.steps >= 1 ? { steps: item.steps } : {}) } : {}),
    }),
    parse(json, where, expect) {
      const [entry] = imageList(json, 'data', where);
      if (!entry || typeof entry !== 'object') throw badResponse('bad-response', where, 'data[0] is not an object');
      const e = entry as Record<string, unknown>;
      if (e.b64_json === undefined && typeof e.url === 'string') throw badResponse('bad-response', where, 'server returned a URL, not b64_json');
      // Newer models state the size they made (top-level "size": "1024x1024").
      const stated = (json as Record<string, unknown>).size;
      if (typeof stated === 'string') checkStatedSize(parseImageSize(stated) ?? undefined, expect, where, `"size"`);
      const out: Decoded = { image: decodeBase64Image(e.b64_json, where) };
      if (typeof e.revised_prompt === 'string') out.revisedPrompt = e.revised_prompt.slice(0, 1000);
      return out;
    },
  };
}
