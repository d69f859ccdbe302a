// Shared start-up of the thin per-queue workers: connection from the Temporal CLI's env vars.
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { connectionOptionsFromEnv } from '../core/temporal-env.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** Our sources import `./x.js` (ESM, nodenext) while the files are `.ts`: teach webpack that mapping. */
export const bundlerOptions: WorkerOptions['bundlerOptions'] = {
  webpackConfigHook: (config) => {
    config.resolve = { ...config.resolve, extensionAlias: { '.js': ['.ts', '.js'] } };
    return config;
  },
};

export async function runWorker(options: Omit<WorkerOptions, 'connection' | 'namespace'>): Promise<void> {
  const env = connectionOptionsFromEnv();
  const connection = await NativeConnection.connect(env.connection);
  try {
    const worker = await Worker.create({ connection, namespace: env.namespace, ...options });
    console.log(`synthscale worker: queue=${options.taskQueue} address=${env.connection.address} namespace=${env.namespace} pid=${process.pid}`);
    await worker.run();
  } finally {
    await connection.close();
  }
}
