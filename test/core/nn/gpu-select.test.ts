// GPU selection without a GPU: which CUDA devices CUDA_VISIBLE_DEVICES and /dev/nvidia<N> leave
// visible, and that @tensorflow/tfjs-node-gpu is only tried when one is (with the reason recorded).
// Run: node --import tsx --test test/gpu-select.test.ts
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  nativePackageCandidates,
  systemCudaProbe,
  visibleCudaDevices,
  type CudaProbe,
} from '../../../core/nn/backend.js';

/** A /dev listing: `n` GPUs (nvidia0..n-1) plus the control files a driver install also has. */
const devices = (n: number): CudaProbe => ({
  nvidiaDeviceFiles: () => [...Array.from({ length: n }, (_, i) => `nvidia${i}`), ...(n ? ['nvidiactl', 'nvidia-uvm', 'nvidia-modeset'] : [])],
});
const visible = (cvd: string | undefined, n: number) =>
  visibleCudaDevices(cvd === undefined ? {} : { CUDA_VISIBLE_DEVICES: cvd }, devices(n));

describe('visibleCudaDevices', () => {
  test('CUDA_VISIBLE_DEVICES unset: one ordinal per /dev/nvidia<N> file', () => {
    assert.deepEqual(visible(undefined, 0), []);
    assert.deepEqual(visible(undefined, 1), ['0']);
    assert.deepEqual(visible(undefined, 4), ['0', '1', '2', '3']);
  });

  test('only nvidia<N> counts, not nvidiactl, nvidia-uvm, nvidia-caps; minor numbers need not be contiguous', () => {
    const probe = { nvidiaDeviceFiles: () => ['nvidiactl', 'nvidia-uvm', 'nvidia-uvm-tools', 'nvidia-caps', 'nvidia-modeset'] };
    assert.deepEqual(visibleCudaDevices({}, probe), []);
    // A container given only the host's GPU 3 sees it as CUDA device 0.
    assert.deepEqual(visibleCudaDevices({}, { nvidiaDeviceFiles: () => ['nvidia3', 'nvidiactl'] }), ['0']);
    assert.deepEqual(visibleCudaDevices({ CUDA_VISIBLE_DEVICES: '0' }, { nvidiaDeviceFiles: () => ['nvidia3'] }), ['0']);
  });

  test("'', '-1' and 'NoDevFiles' hide every device", () => {
    for (const cvd of ['', ' ', '-1', 'NoDevFiles', 'none']) {
      assert.deepEqual(visible(cvd, 2), [], `CUDA_VISIBLE_DEVICES=${JSON.stringify(cvd)}`);
    }
  });

  test('a list of ordinals: those that exist, in the given order', () => {
    assert.deepEqual(visible('0', 2), ['0']);
    assert.deepEqual(visible('1', 2), ['1']);
    assert.deepEqual(visible('1,0', 2), ['1', '0']);
    assert.deepEqual(visible(' 0 , 1 ', 2), ['0', '1']);
    assert.deepEqual(visible('01', 2), ['1']);
  });

  test('ordinals without devices, or beyond them, are not visible (CUDA stops at the first invalid entry)', () => {
    assert.deepEqual(visible('0', 0), []);
    assert.deepEqual(visible('0,1', 0), []);
    assert.deepEqual(visible('2', 2), []);
    assert.deepEqual(visible('0,2,1', 2), ['0']);
    assert.deepEqual(visible('0,1,-1,2', 4), ['0', '1']);
    assert.deepEqual(visible('1,,0', 2), ['1']);
  });

  test('a repeated entry makes the list empty, as in CUDA', () => {
    assert.deepEqual(visible('0,1,0', 2), []);
  });

  test('UUIDs (GPU-..., MIG-...) count as visible when any device exists', () => {
    assert.deepEqual(visible('GPU-8a7f3c21-0000-1111-2222-333344445555', 1), ['GPU-8a7f3c21-0000-1111-2222-333344445555']);
    assert.deepEqual(visible('MIG-4f1c2d3e', 1), ['MIG-4f1c2d3e']);
    assert.deepEqual(visible('GPU-aaaa,GPU-bbbb', 2), ['GPU-aaaa', 'GPU-bbbb']);
    assert.deepEqual(visible('GPU-aaaa', 0), []);
  });

  test('the system probe lists /dev/nvidia<N> files only', () => {
    for (const name of systemCudaProbe.nvidiaDeviceFiles()) assert.match(name, /^nvidia\d+$/);
  });
});

describe('nativePackageCandidates', () => {
  test('a visible device: tfjs-node-gpu first, then tfjs-node', () => {
    assert.deepEqual(nativePackageCandidates({}, devices(1)), {
      packages: ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'],
      skipped: [],
    });
    assert.deepEqual(nativePackageCandidates({ CUDA_VISIBLE_DEVICES: '1' }, devices(2)).packages[0], '@tensorflow/tfjs-node-gpu');
  });

  test('no GPU: tfjs-node-gpu is skipped, and the reason says why', () => {
    const { packages, skipped } = nativePackageCandidates({}, devices(0));
    assert.deepEqual(packages, ['@tensorflow/tfjs-node']);
    assert.deepEqual(skipped, ['@tensorflow/tfjs-node-gpu: no CUDA device visible (CUDA_VISIBLE_DEVICES unset, no /dev/nvidia*)']);
  });

  test('devices hidden by CUDA_VISIBLE_DEVICES: the reason names the setting and the device files', () => {
    assert.deepEqual(nativePackageCandidates({ CUDA_VISIBLE_DEVICES: '-1' }, devices(2)).skipped, [
      '@tensorflow/tfjs-node-gpu: no CUDA device visible (CUDA_VISIBLE_DEVICES=-1, /dev/nvidia0 /dev/nvidia1)',
    ]);
    assert.deepEqual(nativePackageCandidates({ CUDA_VISIBLE_DEVICES: '' }, devices(1)).skipped, [
      '@tensorflow/tfjs-node-gpu: no CUDA device visible (CUDA_VISIBLE_DEVICES="", /dev/nvidia0)',
    ]);
    assert.deepEqual(nativePackageCandidates({ CUDA_VISIBLE_DEVICES: '0' }, devices(0)).skipped, [
      '@tensorflow/tfjs-node-gpu: no CUDA device visible (CUDA_VISIBLE_DEVICES=0, no /dev/nvidia*)',
    ]);
  });

  test('the device files are read once', () => {
    let reads = 0;
    nativePackageCandidates({}, { nvidiaDeviceFiles: () => (reads++, []) });
    assert.equal(reads, 1);
  });
});
