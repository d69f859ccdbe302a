// Shared start-up of the thin per-queue workers: connection from the Temporal CLI's env vars.
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { connectionOptionsFromEnv } from '../core/temporal-env.js';
import { dataConverterFromEnv, EncryptionCodec } from '../core/payload-codec.js';
import { depsFromEnv } from '../core/activity-deps.js';
import { usageInterceptor } from '../core/usage/interceptor.js';
import { trainWorkerGpus } from '../core/usage/gpus.js';
import { TASK_QUEUES } from '../workflows/task-queues.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** Our sources import `./x.js` (ESM, nodenext) while the files are `.ts`: teach webpack that mapping. */
export const bundlerOptions: WorkerOptions['bundlerOptions'] = {
  webpackConfigHook: (config) => {
    config.resolve = { ...config.resolve, extensionAlias: { '.js': ['.ts', '.js'] } };
    return config;
  },
};

/**
 * Connect and run one worker. Payloads are encrypted when SYNTHSCALE_CODEC_KEY (or a keyring) is
 * set (core/payload-codec.ts); the codec runs in this process, outside the workflow sandbox.
 */
export async function runWorker(options: Omit<WorkerOptions, 'connection' | 'namespace' | 'dataConverter'>): Promise<void> {
  const env = connectionOptionsFromEnv();
  const dataConverter = dataConverterFromEnv();
  const codec = dataConverter.payloadCodecs?.[0];
  const connection = await NativeConnection.connect(env.connection);
  try {
    // Every activity attempt writes a usage record (time, CPU- and GPU-seconds) to the store: the report's Cost section.
    const gpus = options.taskQueue === TASK_QUEUES.train ? await trainWorkerGpus() : 0;
    const usage = usageInterceptor({ store: depsFromEnv().store, gpus });
    const interceptors = { ...options.interceptors, activity: [usage, ...(options.interceptors?.activity ?? [])] };
    const worker = await Worker.create({ connection, namespace: env.namespace, dataConverter, ...options, interceptors });
    const encryption = codec instanceof EncryptionCodec ? `aes-256-gcm(key id ${codec.keyId})` : 'off';
    console.log(`synthscale worker: queue=${options.taskQueue} address=${env.connection.address} namespace=${env.namespace} encryption=${encryption} pid=${process.pid}`);
    await worker.run();
  } finally {
    await connection.close();
  }
}
