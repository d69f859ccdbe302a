// Which CUDA devices this process would see, and so which native TensorFlow packages are worth
// loading (backend.ts tries them in this order). The probe is injectable, so the selection is
// testable without a GPU.
import { readdirSync } from 'node:fs';

/** Native packages tried in order; names kept in variables so type-checking never needs them. */
export const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
export type NativePackage = (typeof NATIVE_PACKAGES)[number];

/** Where CUDA devices are looked for (injectable, so the selection is testable without a GPU). */
export interface CudaProbe {
  /** Entry names in /dev (only those matching ^nvidia\d+$ count: nvidia0, nvidia1, ...). */
  nvidiaDeviceFiles(): string[];
}

const NVIDIA_DEVICE_FILE = /^nvidia\d+$/;

export const systemCudaProbe: CudaProbe = {
  nvidiaDeviceFiles() {
    try {
      return readdirSync('/dev').filter((name) => NVIDIA_DEVICE_FILE.test(name));
    } catch {
      return [];
    }
  },
};

/**
 * The CUDA devices this process would see, as CUDA_VISIBLE_DEVICES entries ('0', '1', 'GPU-...').
 * Unset: one ordinal per /dev/nvidia<N> file ('0'..'count-1'). Set: its entries left to right,
 * read the way CUDA reads them: '' means none; an ordinal counts when below the number of device
 * files (CUDA ordinals are 0..count-1 whatever the files' minor numbers); a UUID ('GPU-...',
 * 'MIG-...') counts when any device file exists; the first entry that is neither ('-1',
 * 'NoDevFiles', an ordinal out of range) ends the list, and a repeated entry makes it empty.
 */
export function visibleCudaDevices(env: NodeJS.ProcessEnv, probe: CudaProbe = systemCudaProbe): string[] {
  const count = probe.nvidiaDeviceFiles().filter((name) => NVIDIA_DEVICE_FILE.test(name)).length;
  const setting = env.CUDA_VISIBLE_DEVICES;
  if (setting === undefined) return Array.from({ length: count }, (_, i) => String(i));
  const visible: string[] = [];
  for (const raw of setting.split(',')) {
    const entry = raw.trim();
    let device: string;
    if (/^(GPU|MIG)-/i.test(entry)) {
      if (count === 0) break;
      device = entry;
    } else {
      const ordinal = /^\d+/.exec(entry); // like CUDA's strtoul: '1gpu' is 1
      if (!ordinal || Number(ordinal[0]) >= count) break;
      device = String(Number(ordinal[0]));
    }
    if (visible.includes(device)) return [];
    visible.push(device);
  }
  return visible;
}

/**
 * The native packages `tryNative` attempts, in order, and why any was left out: tfjs-node-gpu
 * only when a CUDA device is visible (without one it would load and run on the CPU, reporting
 * gpu: true, after slow CUDA start-up probing).
 */
export function nativePackageCandidates(
  env: NodeJS.ProcessEnv,
  probe: CudaProbe = systemCudaProbe,
): { packages: NativePackage[]; skipped: string[] } {
  const files = probe.nvidiaDeviceFiles().filter((name) => NVIDIA_DEVICE_FILE.test(name));
  if (visibleCudaDevices(env, { nvidiaDeviceFiles: () => files }).length > 0) {
    return { packages: [...NATIVE_PACKAGES], skipped: [] };
  }
  const setting = env.CUDA_VISIBLE_DEVICES;
  const cvd = setting === undefined ? 'CUDA_VISIBLE_DEVICES unset' : `CUDA_VISIBLE_DEVICES=${setting === '' ? '""' : setting}`;
  const dev = files.length ? files.map((name) => `/dev/${name}`).join(' ') : 'no /dev/nvidia*';
  return {
    packages: NATIVE_PACKAGES.filter((name) => name !== '@tensorflow/tfjs-node-gpu'),
    skipped: [`@tensorflow/tfjs-node-gpu: no CUDA device visible (${cvd}, ${dev})`],
  };
}
