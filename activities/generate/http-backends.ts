// The HTTP text-to-image backends ('a1111', 'openai-images'), as one import; their parts live in
// ./http/ (the shared client item-generator.ts, post-json.ts, body.ts, api.ts, errors.ts, and one
// module per API).
export { createHttpItemGenerator } from './backends.js';
export { decodeBase64Image } from './http/api.js';
export { GeneratorHttpError, HTTP_FAILURE_REASONS, parseRetryAfter, type HttpFailureReason } from './http/errors.js';
export { HTTP_BACKEND_CODE_VERSION, httpSeed, type HttpImageMeta, type HttpItemGeneratorOptions } from './http/item-generator.js';
