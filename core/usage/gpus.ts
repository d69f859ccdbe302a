// GPUs a worker process holds: the CUDA devices it sees when its TF.js backend runs on a GPU
// (tfjs-node-gpu), else none. Only train workers load TF.js, so only they ask.
import { visibleCudaDevices } from '../nn/cuda.js';

/** GPUs this process trains on: loads the TF.js backend (memoized; the train worker has already chosen it). */
export async function trainWorkerGpus(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { initTfBackend } = await import('../nn/backend.js');
  const { gpu } = await initTfBackend('auto');
  return gpu ? Math.max(1, visibleCudaDevices(env).length) : 0;
}
