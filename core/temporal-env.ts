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

export function connectionOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalEnv {
  const address = env.TEMPORAL_ADDRESS ?? 'localhost:7233';
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
