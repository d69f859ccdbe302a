// Auth of the HTTP generators, both sides: the a1111 backend's HTTP Basic (basicAuth, as a web UI
// started with --api-auth wants) and bearer token (apiKeyEnv), against the embedded generator
// server started with Basic credentials and/or a token; the refusal messages and their hints; and
// that no credential ever shows in a message, even when a server echoes it back.
// webuiapi's own set_auth against `synthscale serve-generator` is test/integration/a1111-auth.test.ts.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startGeneratorServer, type GeneratorServer } from '../../../activities/generate/generator-server.js';
import { fitGmmGenerator } from '../../../activities/generate/gmm-diffusion.js';
import type { GmmGeneratorModel } from '../../../activities/generate/gmm/model.js';
import { createHttpItemGenerator, GeneratorHttpError } from '../../../activities/generate/http-backends.js';
import { authHint, readAuth, redact } from '../../../activities/generate/http/auth.js';
import type { GenerateItem } from '../../../activities/generate/item-generator.js';
import { checkCredentials } from '../../../activities/generate/server/auth.js';
import { basicFromEnv } from '../../../cli/serve-generator.js';
import { A1111GeneratorSchema, OpenAiImagesGeneratorSchema } from '../../../contracts/spec/generators.js';
import { FASHION_MNIST_CLASSES, IMAGE_PIXELS } from '../../../core/datasets/fashion-mnist.js';
import { httpError } from '../../support/hostile-generator.js';

const USER = 'sweeper';
const PASSWORD = 'pa ss:w0rd-7f3e91'; // a space and a ':' (allowed in the password, A1111 splits at the first ':')
const TOKEN = 'tok-2d9a6c41';
const ENV = { A1111_USER: USER, A1111_PASSWORD: PASSWORD, A1111_TOKEN: TOKEN };
const ENCODED = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
const BASIC = { userEnv: 'A1111_USER', passwordEnv: 'A1111_PASSWORD' };

/** A tiny model on seeded noise images: fitting and sampling take milliseconds, no dataset needed. */
function tinyModel(): GmmGeneratorModel {
  const n = 200;
  let x = 777;
  const images = new Uint8Array(n * IMAGE_PIXELS).map(() => ((x = (x * 1103515245 + 12345) >>> 0) >>> 24));
  const labels = new Uint8Array(n).map((_, i) => i % 10);
  return fitGmmGenerator({ images, labels, count: n }, { pcaDims: 6, componentsPerClass: 1, fitSeed: 0 }, [...FASHION_MNIST_CLASSES]);
}

const item: GenerateItem = { index: 0, prompt: { index: 0, classIndex: 8, text: 'a bag' }, seed: 's|0', cfgScale: 3, steps: 4 };
const a1111 = (baseUrl: string, over: Record<string, unknown> = {}) =>
  A1111GeneratorSchema.parse({ name: 'a1111', baseUrl, width: 32, height: 32, timeoutMs: 10_000, ...over });
const noSecret = (text: string) => {
  for (const secret of [PASSWORD, ENCODED, TOKEN]) assert.ok(!text.includes(secret), `a credential leaked into: ${text}`);
};

describe('spec and client', () => {
  test('basicAuth names variables; it excludes apiKeyEnv; openai-images has none', () => {
    assert.deepEqual(a1111('http://127.0.0.1:7860', { basicAuth: BASIC }).basicAuth, BASIC);
    const issues = (over: Record<string, unknown>) => A1111GeneratorSchema.safeParse({ name: 'a1111', baseUrl: 'http://127.0.0.1:7860', ...over }).error?.issues ?? [];
    const both = issues({ basicAuth: BASIC, apiKeyEnv: 'A1111_TOKEN' });
    assert.deepEqual(both.map((i) => i.path.join('.')), ['basicAuth']);
    assert.match(both[0]!.message, /apiKeyEnv \(bearer token\) or basicAuth \(--api-auth user:pass\), not both/);
    assert.deepEqual(issues({ basicAuth: { userEnv: 'admin:hunter2', passwordEnv: 'P' } }).map((i) => i.path.join('.')), ['basicAuth.userEnv']);
    assert.deepEqual(issues({ basicAuth: { userEnv: 'U' } }).map((i) => i.path.join('.')), ['basicAuth.passwordEnv']);
    assert.match(issues({ baseUrl: 'http://admin:pw@127.0.0.1:7860' })[0]!.message, /no credentials in the URL.*basicAuth/);
    assert.equal(OpenAiImagesGeneratorSchema.safeParse({ name: 'openai-images', baseUrl: 'http://h/v1', model: 'm', basicAuth: BASIC }).success, false);
  });

  test('the Basic header is base64 of user:password; bad variables are config errors naming the field, never the value', () => {
    const auth = readAuth(a1111('http://h', { basicAuth: BASIC }), ENV, 'h/sdapi/v1/txt2img');
    assert.equal(auth?.header, `Basic ${ENCODED}`);
    assert.equal(readAuth(a1111('http://h', { apiKeyEnv: 'A1111_TOKEN' }), ENV, 'w')?.header, `Bearer ${TOKEN}`);
    assert.equal(readAuth(a1111('http://h'), ENV, 'w'), undefined);
    const configError = (env: NodeJS.ProcessEnv, pattern: RegExp) =>
      assert.throws(
        () => readAuth(a1111('http://h', { basicAuth: BASIC }), env, 'h/sdapi/v1/txt2img'),
        (err: unknown) => {
          assert.ok(err instanceof GeneratorHttpError && err.code === 'config' && !err.transient);
          assert.match(err.message, pattern);
          noSecret(err.message);
          return true;
        },
      );
    configError({ A1111_USER: USER }, /^config: h\/sdapi\/v1\/txt2img: environment variable A1111_PASSWORD \(basicAuth\.passwordEnv\) is not set or empty on this worker$/);
    configError({ A1111_PASSWORD: PASSWORD }, /environment variable A1111_USER \(basicAuth\.userEnv\) is not set or empty/);
    configError({ A1111_USER: 'a:b', A1111_PASSWORD: PASSWORD }, /A1111_USER \(basicAuth\.userEnv\) must be printable ASCII without ':'/);
    configError({ A1111_USER: USER, A1111_PASSWORD: `${PASSWORD}é` }, /A1111_PASSWORD \(basicAuth\.passwordEnv\) must be printable ASCII/);
  });

  test('hints follow what was sent and what the server challenges', () => {
    const basic = a1111('http://h', { basicAuth: BASIC });
    const bearer = a1111('http://h', { apiKeyEnv: 'A1111_TOKEN' });
    const none = a1111('http://h');
    assert.equal(authHint(basic, 'Basic realm="x"'), ' (check the user and password in $A1111_USER and $A1111_PASSWORD (basicAuth))');
    assert.match(authHint(basic, 'Bearer'), /wants a bearer token, not Basic credentials: set apiKeyEnv instead of basicAuth/);
    assert.match(authHint(bearer, 'Basic'), /wants HTTP Basic credentials \(A1111 --api-auth\), not a bearer token: set basicAuth: \{ userEnv, passwordEnv \} in the generator spec instead of apiKeyEnv/);
    assert.equal(authHint(bearer, null), ' (check the bearer token in $A1111_TOKEN)');
    assert.match(authHint(none, 'basic realm="x"'), /wants HTTP Basic credentials \(A1111 --api-auth\): set basicAuth/);
    assert.match(authHint(none, null), /the server wants a token: set apiKeyEnv in the generator spec, or basicAuth for a web UI started with --api-auth/);
    assert.equal(redact(`x ${USER}:${PASSWORD} ${ENCODED} ${PASSWORD}`, [ENCODED, `${USER}:${PASSWORD}`, PASSWORD]), 'x [redacted] [redacted] [redacted]');
  });

  test('a server that echoes the Authorization header in its 401 gets it redacted', async () => {
    const echo = createServer((req, res) => {
      req.resume();
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="x"' });
      res.end(JSON.stringify({ detail: `bad ${req.headers.authorization} for ${Buffer.from(ENCODED, 'base64').toString()}` }));
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
      const err = await httpError(createHttpItemGenerator(a1111(url, { basicAuth: BASIC }), { env: ENV })(item));
      assert.equal(err.status, 401);
      assert.match(err.message, /HTTP 401 \(check the user and password in \$A1111_USER and \$A1111_PASSWORD \(basicAuth\)\): bad Basic \[redacted\] for \[redacted\]$/);
      noSecret(err.message);
    } finally {
      await new Promise((resolve) => echo.close(resolve));
    }
  });
});

describe('serve-generator with Basic credentials (and with a token too)', () => {
  let model: GmmGeneratorModel;
  let basicOnly: GeneratorServer;
  let both: GeneratorServer;
  const logs: string[] = [];
  before(async () => {
    model = tinyModel();
    const log = (line: string) => logs.push(line);
    basicOnly = await startGeneratorServer({ model, basic: { user: USER, password: PASSWORD }, log });
    both = await startGeneratorServer({ model, basic: { user: USER, password: PASSWORD }, token: TOKEN, log });
  });
  after(async () => {
    await basicOnly?.close();
    await both?.close();
  });

  test('the a1111 backend with basicAuth gets images; without, or with a wrong password, a 401 that says what to set', async () => {
    const png = await createHttpItemGenerator(a1111(basicOnly.url, { basicAuth: BASIC }), { env: ENV })(item);
    assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')]);

    let err = await httpError(createHttpItemGenerator(a1111(basicOnly.url), { env: ENV })(item));
    assert.equal(err.status, 401);
    assert.equal(err.transient, false);
    assert.match(err.message, /sdapi\/v1\/txt2img: HTTP 401 \(the server wants HTTP Basic credentials \(A1111 --api-auth\): set basicAuth: \{ userEnv, passwordEnv \} in the generator spec\): missing or invalid Basic credentials$/);

    err = await httpError(createHttpItemGenerator(a1111(basicOnly.url, { basicAuth: BASIC }), { env: { ...ENV, A1111_PASSWORD: 'wrong' } })(item));
    assert.equal(err.status, 401);
    assert.match(err.message, /check the user and password in \$A1111_USER and \$A1111_PASSWORD/);
    err = await httpError(createHttpItemGenerator(a1111(basicOnly.url, { basicAuth: BASIC }), { env: { ...ENV, A1111_USER: 'someone' } })(item));
    assert.equal(err.status, 401);

    err = await httpError(createHttpItemGenerator(a1111(basicOnly.url, { apiKeyEnv: 'A1111_TOKEN' }), { env: ENV })(item));
    assert.match(err.message, /not a bearer token: set basicAuth/);
    for (const line of logs) noSecret(line);
  });

  test('raw requests: challenges per route, constant-format refusals, Basic on A1111 routes, bearer on OpenAI routes when a token is set', async () => {
    const call = (server: GeneratorServer, path: string, authorization?: string) =>
      fetch(`${server.url}${path}`, {
        method: path.endsWith('sd-models') || path.endsWith('/models') ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        ...(path.endsWith('models') ? {} : { body: JSON.stringify({ prompt: 'a bag', width: 16, height: 16, steps: 2, size: '16x16' }) }),
      });
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const status = async (server: GeneratorServer, path: string, authorization?: string) => (await call(server, path, authorization)).status;

    const refused = await call(basicOnly, '/sdapi/v1/txt2img');
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('www-authenticate'), 'Basic realm="synthscale"');
    assert.deepEqual(await refused.json(), { error: 'HTTPException', detail: 'missing or invalid Basic credentials' });
    assert.equal(await status(basicOnly, '/sdapi/v1/txt2img', basic(USER, PASSWORD)), 200);
    assert.equal(await status(basicOnly, '/sdapi/v1/sd-models', basic(USER, PASSWORD)), 200);
    for (const wrong of [basic(USER, 'nope'), basic('nope', PASSWORD), basic(USER, `${PASSWORD}x`), `Basic ${Buffer.from(USER).toString('base64')}`, 'Basic !!!', `Bearer ${TOKEN}`, `${ENCODED}`]) {
      assert.equal(await status(basicOnly, '/sdapi/v1/txt2img', wrong), 401, wrong);
    }
    // Only Basic configured: the OpenAI routes take it too (credentials never leave a route open).
    assert.equal(await status(basicOnly, '/v1/images/generations'), 401);
    assert.equal(await status(basicOnly, '/v1/images/generations', basic(USER, PASSWORD)), 200);

    // Basic and a token: A1111 routes take either, OpenAI routes the token only.
    const a1111Refusal = await call(both, '/sdapi/v1/txt2img');
    assert.equal(a1111Refusal.headers.get('www-authenticate'), 'Basic realm="synthscale", Bearer');
    assert.equal(await status(both, '/sdapi/v1/txt2img', basic(USER, PASSWORD)), 200);
    assert.equal(await status(both, '/sdapi/v1/txt2img', `Bearer ${TOKEN}`), 200);
    const openaiRefusal = await call(both, '/v1/images/generations', basic(USER, PASSWORD));
    assert.equal(openaiRefusal.status, 401);
    assert.equal(openaiRefusal.headers.get('www-authenticate'), 'Bearer');
    assert.equal(await status(both, '/v1/images/generations', `Bearer ${TOKEN}`), 200);
    assert.equal(await status(both, '/v1/models', `Bearer ${TOKEN}`), 200);
    assert.equal((await fetch(`${both.url}/healthz`)).status, 200);
    for (const line of logs) noSecret(line);
  });

  test('the OpenAPI document declares the schemes per route', async () => {
    type Doc = { paths: Record<string, Record<string, { security: unknown[] }>>; components: { securitySchemes: Record<string, { scheme: string }> } };
    const doc = (await (await fetch(`${both.url}/openapi.json`)).json()) as Doc;
    assert.deepEqual(doc.paths['/sdapi/v1/txt2img']!.post!.security, [{ basic: [] }, { bearer: [] }]);
    assert.deepEqual(doc.paths['/sdapi/v1/sd-models']!.get!.security, [{ basic: [] }, { bearer: [] }]);
    assert.deepEqual(doc.paths['/v1/images/generations']!.post!.security, [{ bearer: [] }]);
    assert.deepEqual(doc.paths['/healthz']!.get!.security, []);
    assert.equal(doc.components.securitySchemes.basic!.scheme, 'basic');
    const basicDoc = (await (await fetch(`${basicOnly.url}/openapi.json`)).json()) as Doc;
    assert.deepEqual(basicDoc.paths['/v1/images/generations']!.post!.security, [{ basic: [] }]);
  });

  test('credentials a client cannot send are refused at start, without echoing them', async () => {
    for (const [basic, pattern] of [
      [{ user: 'a:b', password: 'p' }, /user must be 1-256 printable ASCII characters without ':'/],
      [{ user: 'a', password: '' }, /password must be 1-1024 printable ASCII/],
      [{ user: 'a', password: 'p\n' }, /password must be 1-1024 printable ASCII/],
    ] as const) {
      assert.throws(() => checkCredentials(undefined, basic), (err: Error) => pattern.test(err.message) && !err.message.includes(basic.user + ':'));
      await assert.rejects(startGeneratorServer({ model, basic }), pattern);
    }
  });

  test('serve-generator --api-auth-env USER_VAR:PASSWORD_VAR reads the credentials from those variables', () => {
    assert.deepEqual(basicFromEnv('A1111_USER:A1111_PASSWORD', ENV), { user: USER, password: PASSWORD });
    assert.throws(() => basicFromEnv('admin:hunter2!', ENV), (err: Error) => /expected USER_VAR:PASSWORD_VAR, the names of two environment variables/.test(err.message) && !err.message.includes('hunter2'));
    assert.throws(() => basicFromEnv('A1111_USER', ENV), /expected USER_VAR:PASSWORD_VAR/);
    assert.throws(() => basicFromEnv('A1111_USER:UNSET_VAR_X', ENV), /environment variable UNSET_VAR_X \(the password\) is not set or empty/);
  });
});
