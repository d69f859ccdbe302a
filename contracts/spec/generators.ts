// Sweep-spec schemas of the remote text-to-image backends (see http-backends.ts). They land in
// workflow inputs and history, so they hold no secrets: `apiKeyEnv` is the NAME of the environment
// variable that holds the bearer token, `basicAuth` (A1111 only) names the two variables that hold
// the user and password of HTTP Basic (what a web UI started with `--api-auth user:pass` wants),
// both read by the worker at call time; a base URL may carry no credentials, query string or
// fragment (an `?api_key=` would end up in history too).
import { z } from 'zod';

/** Longest Retry-After a spec may allow (a hostile or confused server could ask for days). */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * How far a server is trusted, shared by both backends: deadlines, the response-body cap, the
 * decoded-image pixel cap, the honoured Retry-After and the size check, with defaults. A response
 * that breaks one is a failed item with a reason code (see http-backends.ts), never a crash.
 */
const limits = {
  keepOriginals: z
    .boolean()
    .optional()
    .describe('also store each image as the server returned it, content-addressed at originals/<sha256>.<ext> in the sweep store, named in its sample metadata (meta.http.original)'),
  timeoutMs: z
    .number()
    .int()
    .min(100)
    .max(600_000)
    .default(60_000)
    .describe('deadline of one HTTP request, from sending it to the last byte of the response (reason `deadline`)'),
  idleTimeoutMs: z
    .number()
    .int()
    .min(100)
    .max(600_000)
    .default(30_000)
    .describe('once the response has started, the longest silence between two pieces of it (reason `deadline`)'),
  maxResponseBytes: z
    .number()
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .default(32 * 1024 * 1024)
    .describe('a response body larger than this is cut off and rejected before more of it is buffered (reason `response-too-large`)'),
  maxPixels: z
    .number()
    .int()
    .min(1)
    .max(2 ** 28)
    .default(4096 * 4096)
    .describe('images whose header claims more pixels are rejected before they are decoded (reason `pixel-bomb`)'),
  maxRetryAfterMs: z
    .number()
    .int()
    .min(0)
    .max(MAX_RETRY_AFTER_MS)
    .default(60_000)
    .describe('longest wait honoured from the Retry-After of an HTTP 429 or 503 before the item is retried; a longer one is cut to this'),
  checkSize: z
    .boolean()
    .default(true)
    .describe('reject an image whose dimensions differ from the size requested (A1111 may round each down to a multiple of 8) (reason `unexpected-size`)'),
};

const httpUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `not a URL: ${JSON.stringify(value.slice(0, 100))}` });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: `use http or https, not ${url.protocol}` });
  if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'no credentials in the URL (it is stored in workflow history); use apiKeyEnv (or basicAuth for a1111)' });
  if (url.search || url.hash) ctx.addIssue({ code: 'custom', message: 'no query string or fragment in the base URL' });
});

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'the NAME of an environment variable (letters, digits, _), never the token itself');

/** HTTP Basic credentials by the names of the variables holding them (never the values). */
export const BasicAuthEnvSchema = z
  .object({
    userEnv: envName.describe('environment variable holding the user name (the part before ":" of --api-auth)'),
    passwordEnv: envName.describe('environment variable holding the password (the part after ":" of --api-auth)'),
  })
  .strict();
export type BasicAuthEnv = z.output<typeof BasicAuthEnvSchema>;

export const A1111GeneratorSchema = z
  .object({
    name: z.literal('a1111').describe('an AUTOMATIC1111/Forge web UI API: POST {baseUrl}/sdapi/v1/txt2img'),
    baseUrl: httpUrl.describe('e.g. http://127.0.0.1:7860 (a path prefix is kept)'),
    steps: z.number().int().min(1).max(1000).default(20).describe('sampler steps (sent as `steps`; the sweep passes it per item)'),
    samplerName: z.string().min(1).max(64).default('Euler a'),
    negativePrompt: z.string().max(2000).default(''),
    width: z.number().int().min(8).max(8192).default(512),
    height: z.number().int().min(8).max(8192).default(512),
    apiKeyEnv: envName.optional().describe('environment variable holding a bearer token (for a reverse proxy that wants one)'),
    basicAuth: BasicAuthEnvSchema.optional().describe(
      'HTTP Basic credentials, as a web UI started with --api-auth user:pass wants: the names of the variables holding them, e.g. { userEnv: A1111_USER, passwordEnv: A1111_PASSWORD }',
    ),
    ...limits,
  })
  .strict()
  .superRefine((spec, ctx) => {
    // One Authorization header: a request can carry a bearer token or Basic credentials, not both.
    if (spec.apiKeyEnv !== undefined && spec.basicAuth !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['basicAuth'], message: 'set apiKeyEnv (bearer token) or basicAuth (--api-auth user:pass), not both: a request carries one Authorization header' });
    }
  });

export const OpenAiImagesGeneratorSchema = z
  .object({
    name: z.literal('openai-images').describe('an OpenAI-compatible POST {baseUrl}/images/generations API'),
    baseUrl: httpUrl.describe('up to and including the API version, e.g. https://api.openai.com/v1'),
    model: z.string().min(1).max(128),
    size: z
      .string()
      .regex(/^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}$/, "'WIDTHxHEIGHT', e.g. '512x512'")
      .default('512x512'),
    apiKeyEnv: envName.optional().describe('environment variable holding the bearer token, e.g. OPENAI_API_KEY'),
    extraFields: z
      .boolean()
      .default(true)
      .describe(
        'also send seed, cfg_scale and steps, which `synthscale serve-generator` honours; OpenAI itself has no such ' +
          'parameters (it ignores or rejects them; turn this off there), so sweeps on it are not seed-reproducible and CFG has no effect',
      ),
    ...limits,
  })
  .strict();

/** The two HTTP generators, for the spec's generator union (discriminated by `name`). */
export const HTTP_GENERATOR_SCHEMAS = [A1111GeneratorSchema, OpenAiImagesGeneratorSchema] as const;

export type A1111GeneratorSpec = z.output<typeof A1111GeneratorSchema>;
export type OpenAiImagesGeneratorSpec = z.output<typeof OpenAiImagesGeneratorSchema>;
export type HttpGeneratorSpec = A1111GeneratorSpec | OpenAiImagesGeneratorSpec;
export type HttpGeneratorName = HttpGeneratorSpec['name'];

export function isHttpGeneratorSpec(spec: { name: string }): spec is HttpGeneratorSpec {
  return spec.name === 'a1111' || spec.name === 'openai-images';
}

/** `size` as numbers. */
export function parseImageSize(size: string): { width: number; height: number } | null {
  const m = /^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$/.exec(size);
  return m ? { width: Number(m[1]), height: Number(m[2]) } : null;
}
