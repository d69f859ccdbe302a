// Temporal errors a user can fix, each said with its fix: unreachable server, unknown namespace
// (with the namespaces that do exist, when the caller could list them), unregistered search
// attribute, encrypted payloads without the key, refused credentials, TLS trouble, no worker to
// answer a query. Anything else passes through unchanged. The fixes use `synthscale temporal ...`,
// which works without a Temporal CLI on PATH.
import { connectionOptionsFromEnv } from '../core/temporal-env.js';
import { SEARCH_ATTRIBUTE_FLAGS } from '../workflows/search-attributes.js';

export interface TemporalEnvSummary {
  address: string;
  namespace: string;
  auth: 'none' | 'tls' | 'mtls' | 'api-key';
}

export function temporalEnvSummary(env: NodeJS.ProcessEnv = process.env): TemporalEnvSummary {
  const options = connectionOptionsFromEnv(env);
  const tls = options.connection.tls;
  const auth = options.connection.apiKey ? 'api-key' : tls && typeof tls === 'object' && tls.clientCertPair ? 'mtls' : tls ? 'tls' : 'none';
  return { address: options.connection.address, namespace: options.namespace, auth };
}

/** What the caller learned from the server to make a fix concrete. */
export interface ErrorContext {
  /** Namespaces the server has (listed after a "namespace not found"). */
  namespaces?: string[];
}

interface Rule {
  test: RegExp;
  explain(message: string, env: TemporalEnvSummary, ctx: ErrorContext, match: RegExpExecArray): string;
}

const RULES: Rule[] = [
  {
    test: /namespace .*not found|namespace .*does not exist|NamespaceNotFound/i,
    explain: (message, env, ctx) => {
      const others = ctx.namespaces?.length ? ` Namespaces on this server: ${ctx.namespaces.join(', ')}.` : '';
      return (
        `namespace "${env.namespace}" does not exist on ${env.address} (${message}).${others} ` +
        `Fix: create it (\`synthscale temporal operator namespace create --namespace ${env.namespace}\`), or set TEMPORAL_NAMESPACE to an existing one.`
      );
    },
  },
  {
    test: /search attribute ([A-Za-z0-9_]+) is not defined|no mapping defined for search attribute ([A-Za-z0-9_]+)|search attribute.*(Synthscale[A-Za-z]+)/i,
    explain: (message, env, _ctx, m) =>
      `the server at ${env.address} has no search attribute ${m[1] ?? m[2] ?? m[3]} (${message}). ` +
      `Fix: register the sweep's attributes once per namespace: \`synthscale temporal operator search-attribute create --namespace ${env.namespace} ` +
      `${SEARCH_ATTRIBUTE_FLAGS.map((sa) => `--name ${sa.split('=')[0]} --type ${sa.split('=')[1]}`).join(' ')}\` ` +
      '(`synthscale dev` and infra/stack.sh do this for the embedded server).',
  },
  {
    test: /Unknown encoding: binary\/encrypted|not in this process's keyring/i,
    explain: (message) =>
      `the sweep's Temporal payloads are encrypted (${message}). Fix: set SYNTHSCALE_CODEC_KEY (or SYNTHSCALE_CODEC_KEY_FILE / SYNTHSCALE_CODEC_KEYS) to the key the workers use.`,
  },
  {
    test: /PERMISSION_DENIED|UNAUTHENTICATED|Request unauthorized|unauthorized/i,
    explain: (message, env) =>
      `the server at ${env.address} refused these credentials (auth: ${env.auth}; ${message}). ` +
      'Fix: set TEMPORAL_API_KEY, or TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH, to credentials allowed in namespace ' +
      `"${env.namespace}" (the Temporal CLI reads the same variables).`,
  },
  {
    test: /certificate|handshake|SSL|TLS|wrong version number/i,
    explain: (message, env) =>
      `TLS to ${env.address} failed (auth: ${env.auth}; ${message}). ` +
      (env.auth === 'none'
        ? 'Fix: the server wants TLS: set TEMPORAL_TLS=true (and TEMPORAL_TLS_SERVER_CA_CERT_PATH for a private CA), or TEMPORAL_API_KEY / client certificates.'
        : 'Fix: check TEMPORAL_TLS_SERVER_CA_CERT_PATH (a private CA) and the certificate paths; a local dev server speaks no TLS: unset the TLS and API key variables.'),
  },
  {
    test: /no poller|QueryFailed|query.*timed out|Query .*timeout/i,
    explain: (message) =>
      `no worker answered (${message}). Fix: start the workers (\`synthscale dev\`, or \`synthscale worker --queue cpu\` where the sweep's cluster runs them); \`synthscale dev --status\` says what is running.`,
  },
  {
    test: /ECONNREFUSED|UNAVAILABLE|Failed to connect|connect ETIMEDOUT|deadline exceeded|ENOTFOUND/i,
    explain: (message, env) =>
      `cannot reach the Temporal server at ${env.address} (${message}). ` +
      'Fix: start the embedded one with `npx synthscale dev`, or set TEMPORAL_ADDRESS (or SYNTHSCALE_TEMPORAL_PORT for a local stack on another port; TLS/API key variables for a remote cluster).',
  },
];

/** The error with its fix when it is one of the kinds above; other errors come back as they are. */
export function explainTemporalError(err: unknown, env: TemporalEnvSummary, ctx: ErrorContext = {}): Error {
  const message = err instanceof Error ? err.message : String(err);
  if (/ Fix: /.test(message)) return err as Error; // already explained further down
  for (const rule of RULES) {
    const match = rule.test.exec(message);
    if (match) return new Error(rule.explain(message, env, ctx, match), { cause: err });
  }
  return err instanceof Error ? err : new Error(message);
}

export function isNamespaceNotFound(err: unknown): boolean {
  return RULES[0]!.test.test(err instanceof Error ? err.message : String(err));
}
