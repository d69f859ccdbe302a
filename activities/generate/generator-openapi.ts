// The OpenAPI 3.1 description of the embedded generator's HTTP server (./generator-server.ts),
// served at GET /openapi.json. Written by hand, with the server's configured limits filled in as
// minimum/maximum, so a fuzzer (schemathesis, infra/schemathesis.sh) that sends what this document
// allows must get 2xx, and what it forbids must get 4xx. Keep the two files in step.

export interface GeneratorOpenApiOptions {
  limits: { maxN: number; maxWidth: number; maxHeight: number; maxSteps: number; maxBodyBytes: number };
  /** The schemes each API's routes accept (./server/auth.ts); empty: open. /healthz and /openapi.json are always open. */
  auth: { a1111: ('bearer' | 'basic')[]; openai: ('bearer' | 'basic')[] };
  maxPromptChars: number;
  defaults: { steps: number; cfgScale: number; width: number; height: number; size: string };
  modelName: string;
  /** Largest seed accepted (image i uses seed + i, which must stay a safe integer). */
  maxSeed: number;
}

/** Regex source for the decimal integers 1..max, without leading zeros. */
export function integerRangePattern(max: number): string {
  const digits = String(max);
  const alternatives: string[] = [];
  if (digits.length > 1) alternatives.push(digits.length === 2 ? '[1-9]' : `[1-9][0-9]{0,${digits.length - 2}}`);
  for (let i = 0; i < digits.length; i++) {
    const low = i === 0 ? 1 : 0;
    const high = Number(digits[i]) - 1;
    if (high < low) continue;
    const rest = digits.length - i - 1;
    alternatives.push(`${digits.slice(0, i)}[${low}-${high}]${rest > 0 ? `[0-9]{${rest}}` : ''}`);
  }
  alternatives.push(digits);
  return `(?:${alternatives.join('|')})`;
}

/** Prompts must hold a character other than space, tab, CR and LF (generator-server.ts uses the same class). */
export const NON_BLANK_PATTERN = '[^ \\t\\r\\n]';

const nullable = (schema: Record<string, unknown>) => ({ ...schema, type: [schema.type as string, 'null'] });

/** What every operation of the document shares. */
interface Parts {
  /** An operation's `security`: any one of its API's schemes. */
  security(api: Api): Record<string, never[]>[];
  /** The 401 response of an API's operations (none when they are open). */
  unauthorized(api: Api): Record<string, unknown>;
  /** The 400/401/413 responses, with the API's error schema. */
  errors(api: Api): Record<string, unknown>;
  /** seed, steps and cfg_scale, as both image APIs take them. */
  common: Record<string, unknown>;
  json(schema: unknown): Record<string, unknown>;
}

type Api = 'a1111' | 'openai';
const ERROR_SCHEMA: Record<Api, string> = { a1111: 'A1111Error', openai: 'OpenAiError' };

function parts(o: GeneratorOpenApiOptions): Parts {
  const { limits } = o;
  const security = (api: Api) => o.auth[api].map((scheme) => ({ [scheme]: [] as never[] }));
  const errorRef = (api: Api) => ({ content: { 'application/json': { schema: { $ref: `#/components/schemas/${ERROR_SCHEMA[api]}` } } } });
  const unauthorized = (api: Api) => {
    if (o.auth[api].length === 0) return {};
    const what = o.auth[api].map((scheme) => (scheme === 'basic' ? 'Basic credentials' : 'bearer token')).join(' or ');
    return { '401': { description: `missing or wrong ${what}`, headers: { 'WWW-Authenticate': { schema: { type: 'string' } } }, ...errorRef(api) } };
  };
  const errors = (api: Api) => ({
    '400': { description: 'a field is missing, of the wrong type or out of range; or the body is not a JSON object', ...errorRef(api) },
    ...unauthorized(api),
    '413': { description: `the body is larger than ${limits.maxBodyBytes} bytes`, ...errorRef(api) },
  });
  const common = {
    seed: nullable({ type: 'integer', minimum: -1, maximum: o.maxSeed, description: 'image i uses seed + i; -1 or absent: a fresh seed' }),
    steps: nullable({ type: 'integer', minimum: 1, maximum: limits.maxSteps, default: o.defaults.steps }),
    cfg_scale: nullable({ type: 'number', minimum: 0, maximum: 50, default: o.defaults.cfgScale }),
  };
  const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
  return { security, unauthorized, errors, common, json };
}

export function generatorOpenApi(o: GeneratorOpenApiOptions): Record<string, unknown> {
  const p = parts(o);
  return {
    openapi: '3.1.0',
    info: {
      title: 'synthscale embedded generator',
      version: '1',
      description:
        'The embedded GMM-DDIM text-to-image generator over the AUTOMATIC1111 and OpenAI images APIs (synthscale serve-generator). ' +
        'Limits are this server\'s own: images per request, width and height, sampler steps and the request body size.',
    },
    paths: {
      '/sdapi/v1/txt2img': { post: txt2imgOperation(o, p) },
      '/v1/images/generations': { post: generationsOperation(o, p) },
      ...listingPaths(o, p),
    },
    components: components(),
  };
}

function txt2imgOperation(o: GeneratorOpenApiOptions, { security, errors, common, json }: Parts): Record<string, unknown> {
  const { limits } = o;
  // batch_size * n_iter <= maxN, as "n_iter <= k and batch_size <= floor(maxN / k)" for some k.
  const productLimit = Array.from({ length: limits.maxN }, (_, i) => ({
    properties: { n_iter: { maximum: i + 1 }, batch_size: { maximum: Math.floor(limits.maxN / (i + 1)) } },
  }));
  return {
    operationId: 'txt2img',
    summary: 'AUTOMATIC1111 txt2img: batch_size * n_iter images as base64 PNGs',
    security: security('a1111'),
    requestBody: {
      required: true,
      ...json({
        type: 'object',
        properties: {
          prompt: nullable({ type: 'string', maxLength: o.maxPromptChars, default: '' }),
          negative_prompt: nullable({ type: 'string', maxLength: o.maxPromptChars, default: '', description: 'accepted and echoed; the model has no negative conditioning' }),
          sampler_name: nullable({ type: 'string', maxLength: 64, default: 'DDIM', description: 'accepted and echoed; the model always samples with DDIM' }),
          width: nullable({ type: 'integer', minimum: 1, maximum: limits.maxWidth, default: o.defaults.width }),
          height: nullable({ type: 'integer', minimum: 1, maximum: limits.maxHeight, default: o.defaults.height }),
          batch_size: nullable({ type: 'integer', minimum: 1, maximum: limits.maxN, default: 1 }),
          n_iter: nullable({ type: 'integer', minimum: 1, maximum: limits.maxN, default: 1 }),
          ...common,
        },
        anyOf: productLimit,
        description: `batch_size * n_iter is at most ${limits.maxN}. Other fields of the A1111 API are ignored.`,
      }),
    },
    responses: {
      '200': {
        description: 'the images and the parameters used',
        ...json({
          type: 'object',
          required: ['images', 'parameters', 'info'],
          properties: {
            images: { type: 'array', minItems: 1, maxItems: limits.maxN, items: { type: 'string', contentEncoding: 'base64', contentMediaType: 'image/png' } },
            parameters: { type: 'object' },
            info: { type: 'string', description: 'JSON text: seed, all_seeds, sd_model_name, ...' },
          },
        }),
      },
      ...errors('a1111'),
    },
  };
}

function generationsOperation(o: GeneratorOpenApiOptions, { security, errors, common, json }: Parts): Record<string, unknown> {
  const { limits } = o;
  const sizePattern = `^${integerRangePattern(limits.maxWidth)}x${integerRangePattern(limits.maxHeight)}$`;
  return {
    operationId: 'createImage',
    summary: 'OpenAI images API (b64_json only), plus the extensions seed, steps and cfg_scale',
    security: security('openai'),
    requestBody: {
      required: true,
      ...json({
        type: 'object',
        required: ['prompt'],
        properties: {
          prompt: { type: 'string', minLength: 1, maxLength: o.maxPromptChars, pattern: NON_BLANK_PATTERN },
          model: { type: 'string', description: 'accepted; one model is served' },
          n: nullable({ type: 'integer', minimum: 1, maximum: limits.maxN, default: 1 }),
          size: nullable({ type: 'string', pattern: sizePattern, default: o.defaults.size, description: `WIDTHxHEIGHT, at most ${limits.maxWidth}x${limits.maxHeight}` }),
          response_format: nullable({ type: 'string', enum: ['b64_json'], default: 'b64_json', description: "'url' is refused: this server hosts no files" }),
          ...common,
        },
      }),
    },
    responses: {
      '200': {
        description: 'the images',
        ...json({
          type: 'object',
          required: ['created', 'data'],
          properties: {
            created: { type: 'integer' },
            data: {
              type: 'array',
              minItems: 1,
              maxItems: limits.maxN,
              items: {
                type: 'object',
                required: ['b64_json', 'revised_prompt'],
                properties: { b64_json: { type: 'string', contentEncoding: 'base64', contentMediaType: 'image/png' }, revised_prompt: { type: 'string' } },
              },
            },
          },
        }),
      },
      ...errors('openai'),
    },
  };
}

/** The model listings of both APIs, and the health check. */
function listingPaths(o: GeneratorOpenApiOptions, { security, unauthorized, json }: Parts): Record<string, unknown> {
  return {
    '/sdapi/v1/sd-models': {
      get: {
        operationId: 'sdModels',
        summary: 'AUTOMATIC1111 model listing (one entry)',
        security: security('a1111'),
        responses: {
          '200': {
            description: 'the served model',
            ...json({
              type: 'array',
              minItems: 1,
              maxItems: 1,
              items: {
                type: 'object',
                required: ['title', 'model_name', 'hash', 'sha256', 'filename'],
                properties: { title: { type: 'string' }, model_name: { const: o.modelName }, hash: { type: 'string' }, sha256: { type: 'string' }, filename: { type: 'string' }, config: { type: 'null' } },
              },
            }),
          },
          ...unauthorized('a1111'),
        },
      },
    },
    '/v1/models': {
      get: {
        operationId: 'listModels',
        summary: 'OpenAI model listing (one entry)',
        security: security('openai'),
        responses: {
          '200': {
            description: 'the served model',
            ...json({
              type: 'object',
              required: ['object', 'data'],
              properties: {
                object: { const: 'list' },
                data: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['id', 'object', 'created', 'owned_by'],
                    properties: { id: { type: 'string' }, object: { const: 'model' }, created: { type: 'integer' }, owned_by: { type: 'string' } },
                  },
                },
              },
            }),
          },
          ...unauthorized('openai'),
        },
      },
    },
    '/healthz': {
      get: {
        operationId: 'health',
        summary: 'liveness; no token needed',
        security: [],
        responses: {
          '200': {
            description: 'up, with the served model',
            ...json({
              type: 'object',
              required: ['status', 'model', 'sha256'],
              properties: { status: { const: 'ok' }, model: { type: 'string' }, sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
            }),
          },
        },
      },
    },
  };
}

function components(): Record<string, unknown> {
  return {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, basic: { type: 'http', scheme: 'basic', description: "as AUTOMATIC1111's --api-auth user:pass" } },
    schemas: {
      A1111Error: { type: 'object', required: ['error', 'detail'], properties: { error: { type: 'string' }, detail: { type: 'string' } } },
      OpenAiError: {
        type: 'object',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['message', 'type'],
            properties: { message: { type: 'string' }, type: { type: 'string' }, param: { type: 'null' }, code: { type: 'null' } },
          },
        },
      },
    },
  };
}
