// The AES-256-GCM payload codec (core/payload-codec.ts) and the codec server's HTTP contract
// (cli/codec-server.ts), in process. The end-to-end check through Temporal is
// test/integration/codec.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { payloadToJSON } from '@temporalio/common/lib/proto-utils.js';
import { CodecError, codecFromEnv, dataConverterFromEnv, ENCRYPTED_ENCODING, EncryptionCodec, KEY_ID_METADATA } from '../../core/payload-codec.js';
import { createCodecServer } from '../../cli/codec-server.js';

const KEY_A = randomBytes(32);
const KEY_B = randomBytes(32);
const A_B64 = KEY_A.toString('base64');
const B_HEX = KEY_B.toString('hex');
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');

function codec(env: NodeJS.ProcessEnv): EncryptionCodec {
  const c = codecFromEnv(env);
  assert.ok(c, 'a codec is configured');
  return c;
}

const value = { sweepId: 'codec-unit-secret', sources: [{ name: 'real', kind: 'real' }], sizes: [100] };
const payload = (): Payload => defaultPayloadConverter.toPayload(value)!;

/** Everything a message may not contain: the keys in every spelling they were given in. */
function assertNoKeyMaterial(message: string) {
  for (const key of [KEY_A, KEY_B]) for (const enc of ['base64', 'hex', 'base64url'] as const) assert.ok(!message.includes(key.toString(enc)), `message leaks a key: ${message}`);
}

async function rejects(fn: () => unknown, code: string, includes: string[]): Promise<string> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CodecError, `expected a CodecError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const s of includes) assert.ok(caught.message.includes(s), `"${caught.message}" names ${s}`);
  assertNoKeyMaterial(caught.message);
  return caught.message;
}

describe('payload codec', () => {
  test('round trip: encode gives binary/encrypted with the key id, decode gives the original payload back', async () => {
    const c = codec({ SYNTHSCALE_CODEC_KEY: A_B64, SYNTHSCALE_CODEC_KEY_ID: 'team-a-2024' });
    const [enc] = await c.encode([payload()]);
    assert.equal(text(enc!.metadata!.encoding), ENCRYPTED_ENCODING);
    assert.equal(text(enc!.metadata![KEY_ID_METADATA]), 'team-a-2024');
    assert.deepEqual(Object.keys(enc!.metadata!).sort(), ['encoding', KEY_ID_METADATA].sort(), 'no plaintext metadata left (json/plain is inside)');
    assert.ok(!text(enc!.data).includes('codec-unit-secret'), 'the value is not in the data');
    assert.ok(enc!.data!.length > 12 + 16 + payload().data!.length, 'iv | ciphertext of the whole proto Payload (metadata too) | tag');
    const [dec] = await c.decode([enc!]);
    assert.equal(text(dec!.metadata!.encoding), 'json/plain');
    assert.deepEqual(defaultPayloadConverter.fromPayload(dec!), value);
    // Several payloads in one call, and plain payloads pass through decode untouched.
    const plain = payload();
    const out = await c.decode([...(await c.encode([payload(), payload()])), plain]);
    assert.equal(out.length, 3);
    assert.deepEqual(out.map((p) => defaultPayloadConverter.fromPayload(p)), [value, value, value]);
    assert.equal(out[2], plain);
  });

  test('each encode draws a fresh IV: the same payload encrypts differently every time', async () => {
    const c = codec({ SYNTHSCALE_CODEC_KEY: A_B64 });
    const encs = await c.encode([payload(), payload(), payload()]);
    const hex = new Set(encs.map((e) => Buffer.from(e.data!).toString('hex')));
    assert.equal(hex.size, 3);
    const ivs = new Set(encs.map((e) => Buffer.from(e.data!.subarray(0, 12)).toString('hex')));
    assert.equal(ivs.size, 3);
  });

  test('tampering is detected by the GCM tag: ciphertext, tag or IV changed, or another key under the same id', async () => {
    const c = codec({ SYNTHSCALE_CODEC_KEY: A_B64, SYNTHSCALE_CODEC_KEY_ID: 'k1' });
    const [enc] = await c.encode([payload()]);
    for (const at of [0, 20, enc!.data!.length - 1]) {
      const data = Buffer.from(enc!.data!);
      data[at]! ^= 0x01;
      await rejects(() => c.decode([{ ...enc!, data }]), 'E_CODEC_AUTH', ['"k1"', 'failed authentication']);
    }
    await rejects(() => c.decode([{ ...enc!, data: enc!.data!.subarray(0, 20) }]), 'E_CODEC_FORMAT', ['too short']);
    const impostor = codec({ SYNTHSCALE_CODEC_KEY: B_HEX, SYNTHSCALE_CODEC_KEY_ID: 'k1' });
    await rejects(() => impostor.decode([enc!]), 'E_CODEC_AUTH', ['"k1"']);
    const noId = { ...enc!, metadata: { encoding: enc!.metadata!.encoding! } };
    await rejects(() => c.decode([noId]), 'E_CODEC_FORMAT', [KEY_ID_METADATA]);
  });

  test('key rotation: encrypted with key A, decrypted by a keyring holding A and B that encrypts with B', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'synthscale-codec-'));
    const old = codec({ SYNTHSCALE_CODEC_KEY: A_B64, SYNTHSCALE_CODEC_KEY_ID: 'a' });
    const [byA] = await old.encode([payload()]);

    // Keyring file: id=key per line, comments and blank lines allowed; the key id picks the encryption key.
    const keysFile = join(dir, 'keys');
    await writeFile(keysFile, `# rotated 2024-06\na=${A_B64}\n\nb = ${B_HEX}   # current\n`);
    const rotated = codec({ SYNTHSCALE_CODEC_KEYS_FILE: keysFile, SYNTHSCALE_CODEC_KEY_ID: 'b' });
    assert.equal(rotated.keyId, 'b');
    assert.deepEqual(rotated.keyIds.sort(), ['a', 'b']);
    assert.deepEqual(defaultPayloadConverter.fromPayload((await rotated.decode([byA!]))[0]!), value);
    const [byB] = await rotated.encode([payload()]);
    assert.equal(text(byB!.metadata![KEY_ID_METADATA]), 'b');

    // The same with the list variable, and with the new key in SYNTHSCALE_CODEC_KEY beside the old ones.
    const listed = codec({ SYNTHSCALE_CODEC_KEYS: `a=${A_B64}, b=${B_HEX}`, SYNTHSCALE_CODEC_KEY_ID: 'b' });
    assert.deepEqual(defaultPayloadConverter.fromPayload((await listed.decode([byA!, byB!]))[1]!), value);
    const mixed = codec({ SYNTHSCALE_CODEC_KEY: B_HEX, SYNTHSCALE_CODEC_KEY_ID: 'b', SYNTHSCALE_CODEC_KEYS: `a=${A_B64}` });
    assert.deepEqual((await mixed.decode([byA!, byB!])).map((p) => defaultPayloadConverter.fromPayload(p)), [value, value]);

    // A key file holds the key as text, or as 32 raw bytes.
    const rawFile = join(dir, 'raw.key');
    await writeFile(rawFile, KEY_A);
    const fromRaw = codec({ SYNTHSCALE_CODEC_KEY_FILE: rawFile, SYNTHSCALE_CODEC_KEY_ID: 'a' });
    assert.deepEqual(defaultPayloadConverter.fromPayload((await fromRaw.decode([byA!]))[0]!), value);
    const textFile = join(dir, 'text.key');
    await writeFile(textFile, `${A_B64}\n`);
    assert.equal(codec({ SYNTHSCALE_CODEC_KEY_FILE: textFile }).keyId, codec({ SYNTHSCALE_CODEC_KEY: A_B64 }).keyId);
  });

  test('an unknown key id is an error that names the id and the known ids, never a key', async () => {
    const [byB] = await codec({ SYNTHSCALE_CODEC_KEY: B_HEX, SYNTHSCALE_CODEC_KEY_ID: 'retired-2023' }).encode([payload()]);
    const c = codec({ SYNTHSCALE_CODEC_KEY: A_B64, SYNTHSCALE_CODEC_KEY_ID: 'current' });
    await rejects(() => c.decode([byB!]), 'E_CODEC_UNKNOWN_KEY', ['"retired-2023"', 'current', 'SYNTHSCALE_CODEC_KEYS']);
  });

  test('the default key id is a hash of the key: stable, distinct per key, and not the key', () => {
    const id = codec({ SYNTHSCALE_CODEC_KEY: A_B64 }).keyId;
    assert.match(id, /^key-[0-9a-f]{16}$/);
    assert.equal(codec({ SYNTHSCALE_CODEC_KEY: KEY_A.toString('hex') }).keyId, id, 'hex and base64 of one key give one id');
    assert.notEqual(codec({ SYNTHSCALE_CODEC_KEY: B_HEX }).keyId, id);
    assertNoKeyMaterial(id);
  });

  test('configuration errors name the variable (or file line) and never echo a key', async () => {
    const short = randomBytes(16);
    await rejects(() => codecFromEnv({ SYNTHSCALE_CODEC_KEY: short.toString('base64') }), 'E_CODEC_CONFIG', ['SYNTHSCALE_CODEC_KEY', '32-byte', '24 characters']);
    await rejects(() => codecFromEnv({ SYNTHSCALE_CODEC_KEY: short.toString('hex') }), 'E_CODEC_CONFIG', ['SYNTHSCALE_CODEC_KEY must']);
    await rejects(() => codecFromEnv({ SYNTHSCALE_CODEC_KEY: `${B_HEX}ff` }), 'E_CODEC_CONFIG', ['SYNTHSCALE_CODEC_KEY', '66 characters']);
    await rejects(() => codecFromEnv({ SYNTHSCALE_CODEC_KEY: 'not a key!' }), 'E_CODEC_CONFIG', ['neither hex nor base64']);
    await rejects(() => codecFromEnv({ SYNTHSCALE_CODEC_KEY: A_B64, SYNTHSCALE_CODEC_KEY_FILE: '/x' }), 'E_CODEC_CONFIG', ['not both']);
    await rejects(() => codecFromEnv({ SYNTHSCALE_CODEC_KEY_FILE: '/nonexistent/synthscale.key' }), 'E_CODEC_CONFIG', ['SYNTHSCALE_CODEC_KEY_FILE', 'ENOENT']);
    await rejects(() => codecFromEnv({ SYNTHSCALE_CODEC_KEY: A_B64, SYNTHSCALE_CODEC_KEY_ID: 'has space' }), 'E_CODEC_CONFIG', ['SYNTHSCALE_CODEC_KEY_ID']);
    await rejects(() => codecFromEnv({ SYNTHSCALE_CODEC_KEYS: `a=${A_B64},b=${short.toString('hex')}`, SYNTHSCALE_CODEC_KEY_ID: 'a' }), 'E_CODEC_CONFIG', ['SYNTHSCALE_CODEC_KEYS entry 2', 'key id b']);
    await rejects(() => codecFromEnv({ SYNTHSCALE_CODEC_KEYS: A_B64, SYNTHSCALE_CODEC_KEY_ID: 'a' }), 'E_CODEC_CONFIG', ['SYNTHSCALE_CODEC_KEYS entry 1', 'id=key']);
    await rejects(() => codecFromEnv({ SYNTHSCALE_CODEC_KEYS: `a=${A_B64} a=${B_HEX}`, SYNTHSCALE_CODEC_KEY_ID: 'a' }), 'E_CODEC_CONFIG', ['"a" is given twice']);
    await rejects(() => codecFromEnv({ SYNTHSCALE_CODEC_KEYS: `a=${A_B64}` }), 'E_CODEC_CONFIG', ['SYNTHSCALE_CODEC_KEY_ID', 'a']);
    await rejects(() => codecFromEnv({ SYNTHSCALE_CODEC_KEYS: `a=${A_B64}`, SYNTHSCALE_CODEC_KEY_ID: 'z' }), 'E_CODEC_CONFIG', ['"z" names no key']);
    await rejects(() => codecFromEnv({ SYNTHSCALE_CODEC_KEY_ID: 'z' }), 'E_CODEC_CONFIG', ['"z" names no key']);
    const dir = await mkdtemp(join(tmpdir(), 'synthscale-codec-'));
    const keysFile = join(dir, 'keys');
    await writeFile(keysFile, `a=${A_B64}\n\nb=${short.toString('base64')}\n`);
    await rejects(() => codecFromEnv({ SYNTHSCALE_CODEC_KEYS_FILE: keysFile, SYNTHSCALE_CODEC_KEY_ID: 'a' }), 'E_CODEC_CONFIG', ['line 3', 'key id b']);
  });

  test('no key configured: no codec, and the default data converter (the codec is opt-in)', () => {
    assert.equal(codecFromEnv({}), undefined);
    assert.equal(codecFromEnv({ SYNTHSCALE_CODEC_KEY: '  ', TEMPORAL_ADDRESS: 'x:1' }), undefined, 'blank counts as unset');
    assert.deepEqual(dataConverterFromEnv({}), {});
    const dc = dataConverterFromEnv({ SYNTHSCALE_CODEC_KEY: A_B64 });
    assert.equal(dc.payloadCodecs?.length, 1);
    assert.ok(dc.failureConverterPath?.endsWith('failure-converter.ts'), 'failure messages are encoded too');
  });
});

describe('codec server (in process)', () => {
  const UI = 'http://localhost:8233';
  let base: string;
  let server: ReturnType<typeof createCodecServer>;
  const logged: string[] = [];
  const TOKEN = 'test-token-9f3a';

  before(async () => {
    const realCodec = codecFromEnv({ SYNTHSCALE_CODEC_KEY: A_B64, SYNTHSCALE_CODEC_KEY_ID: 'k' })!;
    server = createCodecServer({ codec: realCodec, uiOrigins: [UI], token: TOKEN, maxBodyBytes: 4096, log: (l) => logged.push(l) });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  test('encode then decode through HTTP, at /encode and at /{namespace}/decode', async () => {
    const enc = await post('/encode', { payloads: [payloadToJSON(payload())] });
    assert.equal(enc.status, 200);
    const encoded = (await enc.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    assert.equal(Buffer.from(encoded.payloads[0]!.metadata.encoding!, 'base64').toString(), ENCRYPTED_ENCODING);
    const dec = await post('/default/decode', encoded, { origin: UI, 'x-namespace': 'default' });
    assert.equal(dec.status, 200);
    assert.equal(dec.headers.get('access-control-allow-origin'), UI);
    const decoded = (await dec.json()) as { payloads: { data: string }[] };
    assert.deepEqual(JSON.parse(Buffer.from(decoded.payloads[0]!.data, 'base64').toString()), value);
  });

  test('bearer token required (and never logged); CORS only for the UI origin; bad requests get clear errors', async () => {
    assert.equal((await post('/decode', { payloads: [] }, { authorization: '' })).status, 401);
    assert.equal((await post('/decode', { payloads: [] }, { authorization: 'Bearer nope' })).status, 401);
    const foreign = await post('/decode', { payloads: [] }, { origin: 'http://evil.example' });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    const pre = await fetch(`${base}/decode`, { method: 'OPTIONS', headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace,authorization' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), UI);
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /content-type.*x-namespace.*authorization/);
    const badJson = await post('/decode', '{nope');
    assert.equal(badJson.status, 400);
    assert.match(((await badJson.json()) as { error: string }).error, /not JSON/);
    assert.equal((await post('/decode', { nothing: 1 })).status, 400);
    assert.equal((await post('/decode', { payloads: [{ data: 5 }] })).status, 400);
    const big = await post('/decode', { payloads: [{ data: 'A'.repeat(5000) }] });
    assert.equal(big.status, 413);
    assert.equal((await post('/nope', { payloads: [] })).status, 404);
    const get = await fetch(`${base}/decode`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST, OPTIONS');
    const [unknown] = await codec({ SYNTHSCALE_CODEC_KEY: B_HEX, SYNTHSCALE_CODEC_KEY_ID: 'gone' }).encode([payload()]);
    const unk = await post('/decode', { payloads: [payloadToJSON(unknown!)] });
    assert.equal(unk.status, 422);
    assert.match(((await unk.json()) as { error: string }).error, /key id "gone"/);
    assert.ok(logged.length > 5);
    assert.ok(!logged.join('\n').includes(TOKEN), 'the token is never logged');
  });
});
