// Temporal errors a user can fix, said with the fix: unreachable server, unknown namespace,
// unregistered search attribute. Anything else passes through unchanged.
import { connectionOptionsFromEnv } from '../core/temporal-env.js';

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

export function explainTemporalError(err: unknown, env: TemporalEnvSummary): Error {
  const message = err instanceof Error ? err.message : String(err);
  if (/namespace .*not found|namespace .*does not exist|NamespaceNotFound/i.test(message)) {
    return new Error(
      `namespace "${env.namespace}" does not exist on ${env.address} (${message}). ` +
        `Fix: create it (\`temporal operator namespace create --namespace ${env.namespace}\`), or set TEMPORAL_NAMESPACE to an existing one.`,
    );
  }
  const attribute = /search attribute ([A-Za-z0-9_]+) is not defined|no mapping defined for search attribute ([A-Za-z0-9_]+)|Synthscale[A-Za-z]+/i.exec(message);
  if (/search attribute/i.test(message) && attribute) {
    return new Error(
      `the server at ${env.address} has no search attribute ${attribute[1] ?? attribute[2] ?? attribute[0]} (${message}). ` +
        'Fix: register the sweep\'s attributes once per namespace: `temporal operator search-attribute create --namespace ' +
        `${env.namespace} --name SynthscaleSweepId --type Keyword --name SynthscaleStage --type Keyword --name SynthscaleSource --type Keyword\` ` +
        '(`synthscale dev` and infra/stack.sh do this for the embedded server).',
    );
  }
  if (/Unknown encoding: binary\/encrypted|not in this process's keyring/i.test(message)) {
    return new Error(
      `the sweep's Temporal payloads are encrypted (${message}). Fix: set SYNTHSCALE_CODEC_KEY (or SYNTHSCALE_CODEC_KEY_FILE / SYNTHSCALE_CODEC_KEYS) to the key the workers use.`,
    );
  }
  if (/ECONNREFUSED|UNAVAILABLE|Failed to connect|connect ETIMEDOUT|deadline exceeded/i.test(message)) {
    return new Error(
      `cannot reach the Temporal server at ${env.address} (${message}). ` +
        'Fix: start the embedded one with `npx synthscale dev`, or set TEMPORAL_ADDRESS (and TLS/API key variables for a remote cluster).',
    );
  }
  return err instanceof Error ? err : new Error(message);
}
