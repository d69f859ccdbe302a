// Fashion-MNIST: locate the IDX files (Debian package, data dir, or download) and decode them.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { memoizePromise } from '../memo.js';
import { FASHION_MNIST_GEOMETRY } from '../image/geometry.js';
import type { ImageSet } from './image-set.js';

export type { ImageSet };

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
  'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

export const IMAGE_SIDE = 28;
export const IMAGE_PIXELS = IMAGE_SIDE * IMAGE_SIDE;

export type Split = 'train' | 'test';


const FILES: Record<Split, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz' },
  test: { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz' },
};

export const DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';
export const PUBLIC_MIRROR = 'https://fashion-mnist.s3-website.eu-central-1.amazonaws.com';
const EXPECTED_COUNTS: Record<Split, number> = { train: 60000, test: 10000 };

export class DatasetUnavailableError extends Error {
  readonly code = 'E_DATASET_UNAVAILABLE';
}

function hasAll(dir: string): boolean {
  return Object.values(FILES).every((f) => existsSync(join(dir, f.images)) && existsSync(join(dir, f.labels)));
}

/**
 * Find the dataset: $FASHION_MNIST_DIR, the Debian package's dir, then `<dataDir>/fashion-mnist`
 * (downloading it there from the public mirror when missing). Throws a message that says how to fix it.
 */
export async function locateFashionMnist(dataDir: string, opts: { download?: boolean } = {}): Promise<string> {
  const candidates = [process.env.FASHION_MNIST_DIR, DEBIAN_DIR, join(dataDir, 'fashion-mnist')].filter(
    (d): d is string => Boolean(d),
  );
  for (const dir of candidates) if (hasAll(dir)) return dir;
  const target = join(dataDir, 'fashion-mnist');
  const failures: string[] = [];
  if (opts.download !== false) {
    await mkdir(target, { recursive: true });
    for (const file of Object.values(FILES).flatMap((f) => [f.images, f.labels])) {
      if (existsSync(join(target, file))) continue;
      try {
        const res = await fetch(`${PUBLIC_MIRROR}/${file}`, { signal: AbortSignal.timeout(60_000) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const bytes = new Uint8Array(await res.arrayBuffer());
        if (bytes.byteLength > 64 * 1024 * 1024) throw new Error('response larger than 64 MiB');
        await writeFile(join(target, `${file}.part`), bytes);
        await rename(join(target, `${file}.part`), join(target, file));
      } catch (err) {
        failures.push(`${file}: ${(err as Error).message}`);
        break;
      }
    }
    if (hasAll(target)) return target;
  }
  throw new DatasetUnavailableError(
    `Fashion-MNIST not found in ${candidates.join(', ')}` +
      (failures.length ? ` and the download from ${PUBLIC_MIRROR} failed (${failures.join('; ')})` : '') +
      `. Fix: install the Debian package (sudo apt-get install dataset-fashion-mnist), or put the four ` +
      `*-ubyte.gz files from ${PUBLIC_MIRROR} into ${target}, or set FASHION_MNIST_DIR.`,
  );
}

/** Decode an IDX file (gzip'd), validating the header against what we expect. */
export function decodeIdx(gz: Uint8Array, kind: 'images' | 'labels', source: string): { data: Uint8Array; count: number } {
  const raw = gunzipSync(gz);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const magic = view.getUint32(0);
  const expectedMagic = kind === 'images' ? 0x00000803 : 0x00000801;
  if (magic !== expectedMagic) throw new Error(`${source}: bad IDX magic 0x${magic.toString(16)}, expected 0x${expectedMagic.toString(16)}`);
  const count = view.getUint32(4);
  const headerBytes = kind === 'images' ? 16 : 8;
  if (kind === 'images' && (view.getUint32(8) !== IMAGE_SIDE || view.getUint32(12) !== IMAGE_SIDE)) {
    throw new Error(`${source}: images are not ${IMAGE_SIDE}x${IMAGE_SIDE}`);
  }
  const expectedBytes = headerBytes + count * (kind === 'images' ? IMAGE_PIXELS : 1);
  if (raw.byteLength !== expectedBytes) throw new Error(`${source}: ${raw.byteLength} bytes, expected ${expectedBytes}`);
  return { data: raw.subarray(headerBytes), count };
}

const cache = new Map<string, Promise<ImageSet>>();

/** Load one split (memoized per process: workers reuse it across activities). */
export function loadSplit(dir: string, split: Split): Promise<ImageSet> {
  return memoizePromise(cache, `${dir}|${split}`, async () => {
      const files = FILES[split];
      const images = decodeIdx(await readFile(join(dir, files.images)), 'images', files.images);
      const labels = decodeIdx(await readFile(join(dir, files.labels)), 'labels', files.labels);
      if (images.count !== labels.count) throw new Error(`${split}: ${images.count} images but ${labels.count} labels`);
      if (images.count !== EXPECTED_COUNTS[split]) throw new Error(`${split}: ${images.count} images, expected ${EXPECTED_COUNTS[split]}`);
      for (const label of labels.data) if (label >= FASHION_MNIST_CLASSES.length) throw new Error(`${split}: label ${label} out of range`);
      return { images: images.data, labels: labels.data, count: images.count, geometry: FASHION_MNIST_GEOMETRY };
  });
}
