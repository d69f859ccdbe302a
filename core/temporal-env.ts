// Connection settings from the same environment variables the Temporal CLI reads, so one
// command points at a local dev server, a self-hosted cluster or Temporal Cloud.
import { readFileSync } from 'node:fs';

export interface TemporalEnv {
  connection: {
    address: string;
    tls?: { clientCertPair?: { crt: Buffer; key: Buffer }; serverRootCACertificate?: Buffer } | boolean;
    apiKey?: string;
  };
  namespace: string;
}

/**
 * The server address: TEMPORAL_ADDRESS, else the embedded stack's port (SYNTHSCALE_TEMPORAL_PORT,
 * the port infra/stack.sh starts its dev server on, so a second stack's workers and CLI reach their
 * own server), else localhost:7233.
 */
export function temporalAddressFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TEMPORAL_ADDRESS) return env.TEMPORAL_ADDRESS;
  const port = env.SYNTHSCALE_TEMPORAL_PORT;
  if (port === undefined || port === '') return 'localhost:7233';
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new Error(`SYNTHSCALE_TEMPORAL_PORT must be a port number from 1 to 65535, not "${port}"`);
  }
  return `127.0.0.1:${Number(port)}`;
}

export function connectionOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalEnv {
  const address = temporalAddressFromEnv(env);
  const namespace = env.TEMPORAL_NAMESPACE ?? 'default';
  const certPath = env.TEMPORAL_TLS_CLIENT_CERT_PATH ?? env.TEMPORAL_TLS_CERT;
  const keyPath = env.TEMPORAL_TLS_CLIENT_KEY_PATH ?? env.TEMPORAL_TLS_KEY;
  const caPath = env.TEMPORAL_TLS_SERVER_CA_CERT_PATH ?? env.TEMPORAL_TLS_CA;
  const apiKey = env.TEMPORAL_API_KEY;
  let tls: TemporalEnv['connection']['tls'];
  if (certPath || keyPath) {
    if (!certPath || !keyPath) throw new Error('TLS needs both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH');
    tls = { clientCertPair: { crt: readFileSync(certPath), key: readFileSync(keyPath) } };
    if (caPath) tls.serverRootCACertificate = readFileSync(caPath);
  } else if (apiKey || env.TEMPORAL_TLS === 'true') {
    tls = true;
  }
  return { connection: { address, ...(tls ? { tls } : {}), ...(apiKey ? { apiKey } : {}) }, namespace };
}
