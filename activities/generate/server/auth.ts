// Who may call the generator server: an optional bearer token and optional HTTP Basic credentials
// (what an AUTOMATIC1111 web UI started with `--api-auth user:pass` wants, and what its Python client
// webuiapi's set_auth sends). The A1111 routes accept Basic (and the token, for clients behind a
// bearer proxy); the OpenAI routes accept the token, or Basic when only Basic is configured, so
// credentials never leave a route open. Comparisons are constant-time over sha256 digests (no
// length leak); a refusal is a 401 with the route's challenges in WWW-Authenticate. Nothing here
// logs or echoes what a client sent.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type AuthScheme = 'bearer' | 'basic';
/** The API a route belongs to (the auth-free routes have none). */
export type RouteApi = 'a1111' | 'openai';

export interface BasicCredentials {
  user: string;
  password: string;
}

export interface ServerAuth {
  /** The schemes a route of `api` accepts; empty: no auth. */
  schemes(api: RouteApi): AuthScheme[];
  authorized(req: IncomingMessage, api: RouteApi): boolean;
  /** WWW-Authenticate of a 401 on a route of `api`. */
  challenge(api: RouteApi): string;
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
const sameDigest = (a: Buffer, b: Buffer) => timingSafeEqual(a, b);

/** Throws (naming the rule, never the value) when the credentials cannot be sent by a client. */
export function checkCredentials(token: string | undefined, basic: BasicCredentials | undefined): void {
  // Sent as `Authorization: Bearer <token>`: one visible-ASCII word.
  if (token !== undefined && !/^[\x21-\x7e]{1,1024}$/.test(token)) throw new Error('the bearer token must be 1-1024 visible ASCII characters (no spaces)');
  if (basic === undefined) return;
  // A1111 (FastAPI HTTPBasic) decodes Basic credentials as ASCII and splits them at the first ':'.
  if (!/^[\x20-\x7e]{1,256}$/.test(basic.user) || basic.user.includes(':')) throw new Error("the Basic auth user must be 1-256 printable ASCII characters without ':'");
  if (!/^[\x20-\x7e]{1,1024}$/.test(basic.password)) throw new Error('the Basic auth password must be 1-1024 printable ASCII characters');
}

/** The server's auth from its configured credentials (none: every route is open). */
export function serverAuth(token: string | undefined, basic: BasicCredentials | undefined): ServerAuth {
  checkCredentials(token, basic);
  const tokenDigest = token === undefined ? null : digest(token);
  const basicDigests = basic === undefined ? null : { user: digest(basic.user), password: digest(basic.password) };
  const schemes = (api: RouteApi): AuthScheme[] => {
    const out: AuthScheme[] = [];
    if (basicDigests && (api === 'a1111' || !tokenDigest)) out.push('basic');
    if (tokenDigest) out.push('bearer');
    return out;
  };
  const bearerOk = (header: string) => {
    const m = /^Bearer +(\S+) *$/i.exec(header);
    return !!(m && tokenDigest && sameDigest(digest(m[1]!), tokenDigest));
  };
  const basicOk = (header: string) => {
    const m = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
    if (!m || !basicDigests) return false;
    const decoded = Buffer.from(m[1]!, 'base64').toString('latin1');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    // Both halves are always compared, so the time does not say which one was wrong.
    const userOk = sameDigest(digest(decoded.slice(0, colon)), basicDigests.user);
    const passwordOk = sameDigest(digest(decoded.slice(colon + 1)), basicDigests.password);
    return userOk && passwordOk;
  };
  return {
    schemes,
    authorized(req, api) {
      const accepted = schemes(api);
      if (accepted.length === 0) return true;
      const header = req.headers.authorization ?? '';
      if (header.length > 8192) return false;
      return (accepted.includes('basic') && basicOk(header)) || (accepted.includes('bearer') && bearerOk(header));
    },
    challenge: (api) =>
      schemes(api)
        .map((s) => (s === 'basic' ? 'Basic realm="synthscale"' : 'Bearer'))
        .join(', '),
  };
}
