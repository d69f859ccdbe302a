// AES-256-GCM payload codec: with a key configured, what Temporal stores (workflow and activity
// inputs and results, memos, heartbeats, query results, failure messages) is ciphertext, and only
// processes holding the key (the CLI, the workers, `synthscale codec-server`) can read it. Opt-in:
// with no key set, no codec (plain JSON payloads, as before).
//
// Encrypted payload: metadata `encoding: binary/encrypted`, `encryption-key-id: <id>`; data is
// iv (12 bytes) | ciphertext | GCM tag (16 bytes) of the original Payload, protobuf-serialized.
// Payloads without that encoding (e.g. inputs sent by the Temporal CLI) pass through decode as is.
import { createCipheriv, createDecipheriv, createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
const ProtoPayload = proto.temporal.api.common.v1.Payload;

/** The variables this module reads; see README "Encrypting what Temporal stores". */
export const CODEC_ENV = {
  key: 'SYNTHSCALE_CODEC_KEY',
  keyFile: 'SYNTHSCALE_CODEC_KEY_FILE',
  keyId: 'SYNTHSCALE_CODEC_KEY_ID',
  keys: 'SYNTHSCALE_CODEC_KEYS',
  keysFile: 'SYNTHSCALE_CODEC_KEYS_FILE',
} as const;

export type CodecErrorCode = 'E_CODEC_CONFIG' | 'E_CODEC_UNKNOWN_KEY' | 'E_CODEC_AUTH' | 'E_CODEC_FORMAT';

/** Every message names the variable, file line or key id at fault, never key material. */
export class CodecError extends Error {
  constructor(
    message: string,
    readonly code: CodecErrorCode,
  ) {
    super(message);
    this.name = 'CodecError';
  }
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/**
 * A 32-byte key written as 64 hex digits or base64 (standard or URL-safe). `where` names the
 * variable or file line in the error; the error says how long the value was, never what it was.
 */
export function parseKey(text: string, where: string): KeyObject {
  const t = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) key = Buffer.from(t, 'base64');
  if (!key || key.length !== KEY_BYTES) {
    throw new CodecError(
      `${where} must be a 32-byte AES-256 key, written as 64 hex digits or 44 base64 characters ` +
        `(e.g. \`openssl rand -base64 32\`); it has ${t.length} characters` +
        (key ? ` (${key.length} bytes once decoded)` : ' that are neither hex nor base64'),
      'E_CODEC_CONFIG',
    );
  }
  return createSecretKey(key);
}

/** The default key id: a domain-separated hash of the key (it is stored in clear in every payload). */
export function defaultKeyId(key: KeyObject): string {
  return `key-${createHash('sha256').update('synthscale-codec-key-id\0').update(key.export()).digest('hex').slice(0, 16)}`;
}

/** An invalid id is not echoed: it may be a key pasted into the wrong place. */
function checkKeyId(id: string, where: string): string {
  if (!KEY_ID_PATTERN.test(id)) {
    throw new CodecError(`${where}: a key id must be 1-64 characters of A-Z a-z 0-9 . _ : - (this one has ${id.length} characters)`, 'E_CODEC_CONFIG');
  }
  return id;
}

/** A key file holds the key as text (hex or base64), or exactly 32 raw bytes. */
function readKeyFile(path: string, variable: string): KeyObject {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    throw new CodecError(`${variable}=${path}: cannot read the key file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'E_CODEC_CONFIG');
  }
  try {
    return parseKey(raw.toString('utf8'), `${variable} (${path})`);
  } catch (err) {
    if (raw.length === KEY_BYTES) return createSecretKey(raw);
    throw err;
  }
}

/**
 * Keyring entries `id=key`: in SYNTHSCALE_CODEC_KEYS separated by commas or whitespace, in
 * SYNTHSCALE_CODEC_KEYS_FILE one per line (blank lines and `#` comments ignored).
 */
function parseKeyring(text: string, where: string, byLine: boolean, into: Map<string, KeyObject>): void {
  const entries = byLine
    ? text.split(/\r?\n/).map((line, i) => ({ entry: line.replace(/#.*$/, '').trim(), at: `${where} line ${i + 1}` }))
    : text.split(/[\s,]+/).map((entry, i) => ({ entry: entry.trim(), at: `${where} entry ${i + 1}` }));
  for (const { entry, at } of entries) {
    if (!entry) continue;
    const eq = entry.indexOf('=');
    if (eq <= 0 || !entry.slice(eq + 1).replace(/=+$/, '').trim()) {
      throw new CodecError(`${at}: expected id=key (the key as hex or base64), e.g. 2024-06=$(openssl rand -base64 32)`, 'E_CODEC_CONFIG');
    }
    const id = checkKeyId(entry.slice(0, eq).trim(), at);
    addKey(into, id, parseKey(entry.slice(eq + 1), `${at} (key id ${id})`), at);
  }
}

function addKey(ring: Map<string, KeyObject>, id: string, key: KeyObject, where: string): void {
  const existing = ring.get(id);
  if (existing && !existing.equals(key)) throw new CodecError(`${where}: key id "${id}" is given twice with different keys`, 'E_CODEC_CONFIG');
  ring.set(id, key);
}

function metadataString(payload: Payload, name: string): string | undefined {
  const value = payload.metadata?.[name];
  return value ? fromUtf8.decode(value) : undefined;
}

/** Encrypts with one key (`keyId`); decrypts with any key of the keyring, chosen by the payload's key id. */
export class EncryptionCodec implements PayloadCodec {
  private readonly keys: ReadonlyMap<string, KeyObject>;

  constructor(
    readonly keyId: string,
    keys: ReadonlyMap<string, KeyObject>,
  ) {
    if (!keys.has(keyId)) throw new CodecError(`the keyring has no key with the id "${keyId}" to encrypt with`, 'E_CODEC_CONFIG');
    this.keys = keys;
  }

  /** Ids of the keys this codec can decrypt with (the keys themselves are never exposed). */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encrypt(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.decrypt(p));
  }

  encrypt(payload: Payload): Payload {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.keyId)!, iv);
    const body = Buffer.concat([cipher.update(ProtoPayload.encode(payload).finish()), cipher.final()]);
    return {
      metadata: { encoding: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(this.keyId) },
      data: Buffer.concat([iv, body, cipher.getAuthTag()]),
    };
  }

  decrypt(payload: Payload): Payload {
    if (metadataString(payload, 'encoding') !== ENCRYPTED_ENCODING) return payload;
    const keyId = metadataString(payload, KEY_ID_METADATA);
    if (!keyId) throw new CodecError(`an encrypted payload has no "${KEY_ID_METADATA}" metadata`, 'E_CODEC_FORMAT');
    const key = this.keys.get(keyId);
    if (!key) {
      throw new CodecError(
        `a payload is encrypted with key id "${keyId}", which is not in this process's keyring (it has: ${this.keyIds.join(', ')}). ` +
          `Fix: add that key to ${CODEC_ENV.keys} or ${CODEC_ENV.keysFile} as ${keyId}=<key>`,
        'E_CODEC_UNKNOWN_KEY',
      );
    }
    const data = payload.data ?? new Uint8Array();
    if (data.length < IV_BYTES + TAG_BYTES) throw new CodecError(`an encrypted payload (key id "${keyId}") is ${data.length} bytes, too short to hold iv and tag`, 'E_CODEC_FORMAT');
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new CodecError(
        `a payload encrypted with key id "${keyId}" failed authentication: it was altered, or this keyring holds another key under that id`,
        'E_CODEC_AUTH',
      );
    }
    return ProtoPayload.decode(plain);
  }
}

/**
 * The codec the environment configures, or undefined when no key is set (plain payloads).
 * Encrypt with SYNTHSCALE_CODEC_KEY or SYNTHSCALE_CODEC_KEY_FILE (id: SYNTHSCALE_CODEC_KEY_ID, else
 * a hash of the key), or with the keyring entry SYNTHSCALE_CODEC_KEY_ID names; decrypt with that key
 * and every key of SYNTHSCALE_CODEC_KEYS / SYNTHSCALE_CODEC_KEYS_FILE.
 */
export function codecFromEnv(env: NodeJS.ProcessEnv = process.env): EncryptionCodec | undefined {
  const value = (name: string) => (env[name]?.trim() ? env[name]!.trim() : undefined);
  const [keyText, keyFile, keyIdText, keysText, keysFile] = [CODEC_ENV.key, CODEC_ENV.keyFile, CODEC_ENV.keyId, CODEC_ENV.keys, CODEC_ENV.keysFile].map(value);
  if (keyText && keyFile) throw new CodecError(`set ${CODEC_ENV.key} or ${CODEC_ENV.keyFile}, not both`, 'E_CODEC_CONFIG');

  const ring = new Map<string, KeyObject>();
  if (keysText) parseKeyring(keysText, CODEC_ENV.keys, false, ring);
  if (keysFile) {
    let text: string;
    try {
      text = readFileSync(keysFile, 'utf8');
    } catch (err) {
      throw new CodecError(`${CODEC_ENV.keysFile}=${keysFile}: cannot read the keyring file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'E_CODEC_CONFIG');
    }
    parseKeyring(text, `${CODEC_ENV.keysFile} (${keysFile})`, true, ring);
  }
  const keyId = keyIdText === undefined ? undefined : checkKeyId(keyIdText, CODEC_ENV.keyId);

  const current = keyText ? parseKey(keyText, CODEC_ENV.key) : keyFile ? readKeyFile(keyFile, CODEC_ENV.keyFile) : undefined;
  if (current) {
    const id = keyId ?? defaultKeyId(current);
    addKey(ring, id, current, keyText ? CODEC_ENV.key : CODEC_ENV.keyFile);
    return new EncryptionCodec(id, ring);
  }
  if (keyId) {
    if (!ring.has(keyId)) {
      throw new CodecError(
        `${CODEC_ENV.keyId}="${keyId}" names no key: set ${CODEC_ENV.key} (or ${CODEC_ENV.keyFile}), or add ${keyId}=<key> to ${CODEC_ENV.keys} / ${CODEC_ENV.keysFile}`,
        'E_CODEC_CONFIG',
      );
    }
    return new EncryptionCodec(keyId, ring);
  }
  if (ring.size > 0) {
    throw new CodecError(
      `a keyring is set (${[...ring.keys()].join(', ')}) but no key to encrypt with: set ${CODEC_ENV.keyId} to one of those ids, or set ${CODEC_ENV.key}`,
      'E_CODEC_CONFIG',
    );
  }
  return undefined;
}

/** Module exporting a failure converter that moves failure messages and stacks into an encoded payload. */
export const ENCODED_FAILURE_CONVERTER_PATH = fileURLToPath(new URL('./failure-converter.ts', import.meta.url));

/**
 * The data converter for the Temporal Client and Workers: with a key, the encryption codec plus a
 * failure converter that encodes failure messages and stack traces (so the codec encrypts them
 * too); without one, Temporal's defaults.
 */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): DataConverter {
  const codec = codecFromEnv(env);
  return codec ? { payloadCodecs: [codec], failureConverterPath: ENCODED_FAILURE_CONVERTER_PATH } : {};
}
