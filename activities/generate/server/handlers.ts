// The generator server's two image APIs over the embedded generator: A1111 txt2img and OpenAI
// images/generations. Each image is sampled at the model's geometry (28x28 grey for Fashion-MNIST;
// class weights from the prompt, as the embedded backend does), then upscaled to the requested size
// with sharp (Lanczos-3) and sent as an RGB PNG.
// Image i of a request uses seed + i (as A1111 does), with sample seed String(seed + i).
import { upscaleToRgbPng } from '../../../core/image/resize.js';
import { promptAttributes, promptToClassWeights } from '../../../core/text/text-condition.js';
import { NON_BLANK_PATTERN } from '../generator-openapi.js';
import { sampleBatch } from '../gmm/sampler.js';
import { DEFAULT_CFG_SCALE, MAX_PROMPT_CHARS, SERVED_MODEL_NAME, type GeneratorServerLimits, type ServerContext } from './context.js';
import { intField, numberField, RequestError, stringField, type Body } from './request.js';

export type Handler = (body: Body) => Promise<unknown> | unknown;

const NON_BLANK = new RegExp(NON_BLANK_PATTERN);

interface Render {
  prompt: string;
  seed: number;
  steps: number;
  cfgScale: number;
  width: number;
  height: number;
  count: number;
}

/** count images as base64 RGB PNGs; image i uses seed + i. */
async function render(ctx: ServerContext, r: Render): Promise<string[]> {
  const { model } = ctx;
  const classWeights = promptToClassWeights(r.prompt, model.classes);
  const attributes = promptAttributes(r.prompt, model.classes);
  const items = Array.from({ length: r.count }, (_, i) => ({ classWeights, attributes, cfgScale: r.cfgScale, steps: r.steps, seed: String(r.seed + i) }));
  const pixels = sampleBatch(model, items);
  const per = model.pixels;
  const out: string[] = [];
  for (let i = 0; i < r.count; i++) {
    const png = await upscaleToRgbPng(pixels.subarray(i * per, (i + 1) * per), model.geometry, r.width, r.height);
    out.push(png.toString('base64'));
  }
  return out;
}

function seedField(ctx: ServerContext, body: Body): number {
  const seed = intField(body, 'seed', -1, -1, ctx.maxSeed);
  return seed === -1 ? ctx.nextRandomSeed() : seed;
}

function checkSize(limits: GeneratorServerLimits, width: number, height: number): void {
  if (width > limits.maxWidth || height > limits.maxHeight) {
    throw new RequestError(400, `size ${width}x${height} exceeds the limit of ${limits.maxWidth}x${limits.maxHeight}`);
  }
}

/** POST /sdapi/v1/txt2img */
export function txt2img(ctx: ServerContext): Handler {
  const { limits, defaults } = ctx;
  return async (body) => {
    const prompt = stringField(body, 'prompt', '', MAX_PROMPT_CHARS);
    const negativePrompt = stringField(body, 'negative_prompt', '', MAX_PROMPT_CHARS);
    const samplerName = stringField(body, 'sampler_name', 'DDIM', 64);
    const steps = intField(body, 'steps', defaults.steps, 1, limits.maxSteps);
    const cfgScale = numberField(body, 'cfg_scale', DEFAULT_CFG_SCALE, 0, 50);
    const width = intField(body, 'width', defaults.width, 1, limits.maxWidth);
    const height = intField(body, 'height', defaults.height, 1, limits.maxHeight);
    const batchSize = intField(body, 'batch_size', 1, 1, limits.maxN);
    const nIter = intField(body, 'n_iter', 1, 1, limits.maxN);
    const count = batchSize * nIter;
    if (count > limits.maxN) throw new RequestError(400, `batch_size * n_iter = ${count} exceeds the limit of ${limits.maxN}`);
    const seed = seedField(ctx, body);
    const images = await render(ctx, { prompt, seed, steps, cfgScale, width, height, count });
    const allSeeds = images.map((_, i) => seed + i);
    // negative_prompt and sampler_name are accepted and echoed: the embedded model always samples
    // with DDIM (eta 0) and has no negative conditioning.
    const parameters = { prompt, negative_prompt: negativePrompt, seed, steps, cfg_scale: cfgScale, width, height, batch_size: batchSize, n_iter: nIter, sampler_name: samplerName };
    const info = {
      prompt,
      all_prompts: allSeeds.map(() => prompt),
      negative_prompt: negativePrompt,
      seed,
      all_seeds: allSeeds,
      steps,
      cfg_scale: cfgScale,
      width,
      height,
      sampler_name: samplerName,
      batch_size: batchSize,
      sd_model_name: SERVED_MODEL_NAME,
      sd_model_hash: ctx.modelSha.slice(0, 10),
    };
    return { images, parameters, info: JSON.stringify(info) };
  };
}

/** POST /v1/images/generations (b64_json only), plus the extensions seed, cfg_scale and steps. */
export function generations(ctx: ServerContext): Handler {
  const { limits, defaults } = ctx;
  return async (body) => {
    const prompt = stringField(body, 'prompt', undefined, MAX_PROMPT_CHARS);
    if (!NON_BLANK.test(prompt)) throw new RequestError(400, 'prompt must not be empty or blank');
    if (body.model !== undefined && typeof body.model !== 'string') throw new RequestError(400, 'model must be a string');
    const count = intField(body, 'n', 1, 1, limits.maxN);
    const size = stringField(body, 'size', defaults.size, 16);
    const m = /^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$/.exec(size);
    if (!m) throw new RequestError(400, `size must be 'WIDTHxHEIGHT', got ${JSON.stringify(size)}`);
    const width = Number(m[1]);
    const height = Number(m[2]);
    checkSize(limits, width, height);
    // OpenAI's default for dall-e is 'url'; we host no files, so an absent format means b64_json.
    const format = stringField(body, 'response_format', 'b64_json', 16);
    if (format === 'url') throw new RequestError(400, "response_format 'url' is not supported (this server hosts no files); use 'b64_json'");
    if (format !== 'b64_json') throw new RequestError(400, `response_format must be 'b64_json', got ${JSON.stringify(format)}`);
    // Extensions (the OpenAI API has none of these).
    const seed = seedField(ctx, body);
    const steps = intField(body, 'steps', defaults.steps, 1, limits.maxSteps);
    const cfgScale = numberField(body, 'cfg_scale', DEFAULT_CFG_SCALE, 0, 50);
    const images = await render(ctx, { prompt, seed, steps, cfgScale, width, height, count });
    return { created: Math.floor(Date.now() / 1000), data: images.map((b64_json) => ({ b64_json, revised_prompt: prompt })) };
  };
}
