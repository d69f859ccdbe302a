// How an HTTP generator request authenticates: a bearer token (`apiKeyEnv`, both APIs) or HTTP Basic
// (`basicAuth`, A1111: what a web UI started with `--api-auth user:pass` wants, and what its Python
// client webuiapi's set_auth sends). The spec holds only the NAMES of the variables; the values are
// read from the worker's environment at call time, sent only in the Authorization header, and
// redacted from every message (`secrets`). The 401/403 hint says which credentials to set, from the
// spec and the server's WWW-Authenticate challenge.
import type { HttpGeneratorSpec } from '../../../contracts/spec/generators.js';
import { GeneratorHttpError } from './errors.js';

export interface RequestAuth {
  /** The Authorization header's value. */
  header: string;
  /** Strings that must never appear in a message (the token, the password, the encoded pair). */
  secrets: string[];
}

const basicAuthOf = (spec: HttpGeneratorSpec) => (spec.name === 'a1111' ? spec.basicAuth : undefined);

/** The Authorization of a request to `spec`'s server, read from `env` (undefined when the spec names no credentials). */
export function readAuth(spec: HttpGeneratorSpec, env: NodeJS.ProcessEnv, where: string): RequestAuth | undefined {
  const basic = basicAuthOf(spec);
  if (basic) return readBasic(basic.userEnv, basic.passwordEnv, env, where);
  if (!spec.apiKeyEnv) return undefined;
  const token = readVariable(env, spec.apiKeyEnv, 'apiKeyEnv', where).trim();
  if (!/^[\x21-\x7e]+$/.test(token)) throw configError(where, `environment variable ${spec.apiKeyEnv} (apiKeyEnv) holds characters a bearer token cannot contain`);
  return { header: `Bearer ${token}`, secrets: [token] };
}

function configError(where: string, problem: string): GeneratorHttpError {
  return new GeneratorHttpError('config', `${where}: ${problem} on this worker`, { transient: false });
}

function readVariable(env: NodeJS.ProcessEnv, name: string, field: string, where: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw configError(where, `environment variable ${name} (${field}) is not set or empty`);
  return value;
}

/**
 * RFC 7617 Basic: base64 of `user:password`. A1111's FastAPI HTTPBasic decodes it as ASCII, so both
 * must be printable ASCII, and the user cannot hold ':' (the server splits at the first one).
 * Values are used as set (no trimming: a password may end in a space).
 */
function readBasic(userEnv: string, passwordEnv: string, env: NodeJS.ProcessEnv, where: string): RequestAuth {
  const user = readVariable(env, userEnv, 'basicAuth.userEnv', where);
  const password = readVariable(env, passwordEnv, 'basicAuth.passwordEnv', where);
  if (!/^[\x20-\x7e]+$/.test(user) || user.includes(':')) {
    throw configError(where, `environment variable ${userEnv} (basicAuth.userEnv) must be printable ASCII without ':' (A1111 --api-auth splits user:password at the first ':')`);
  }
  if (!/^[\x20-\x7e]+$/.test(password)) throw configError(where, `environment variable ${passwordEnv} (basicAuth.passwordEnv) must be printable ASCII (A1111 decodes Basic credentials as ASCII)`);
  const encoded = Buffer.from(`${user}:${password}`, 'ascii').toString('base64');
  // The user name alone is not redacted: a short one ("a1111") would blank out ordinary words.
  return { header: `Basic ${encoded}`, secrets: [encoded, `${user}:${password}`, password] };
}

/** `text` with every secret replaced by [redacted] (longest first, so a secret inside another goes too). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) if (secret) out = out.split(secret).join('[redacted]');
  return out;
}

/** What a 401/403 should make the operator check, from what the spec sent and what the server asks for. */
export function authHint(spec: HttpGeneratorSpec, challenge: string | null): string {
  const wants = /^\s*basic\b/i.test(challenge ?? '') ? 'basic' : /^\s*bearer\b/i.test(challenge ?? '') ? 'bearer' : undefined;
  const basic = basicAuthOf(spec);
  const setBasic = 'set basicAuth: { userEnv, passwordEnv } in the generator spec';
  if (basic) {
    if (wants === 'bearer') return ' (the server wants a bearer token, not Basic credentials: set apiKeyEnv instead of basicAuth)';
    return ` (check the user and password in $${basic.userEnv} and $${basic.passwordEnv} (basicAuth))`;
  }
  if (spec.apiKeyEnv) {
    if (wants === 'basic') return ` (the server wants HTTP Basic credentials (A1111 --api-auth), not a bearer token: ${spec.name === 'a1111' ? `${setBasic} instead of apiKeyEnv` : 'put a proxy that takes a bearer token in front of it'})`;
    return ` (check the bearer token in $${spec.apiKeyEnv})`;
  }
  if (wants === 'basic' && spec.name === 'a1111') return ` (the server wants HTTP Basic credentials (A1111 --api-auth): ${setBasic})`;
  return ` (the server wants a token: set apiKeyEnv in the generator spec${spec.name === 'a1111' ? ', or basicAuth for a web UI started with --api-auth' : ''})`;
}
