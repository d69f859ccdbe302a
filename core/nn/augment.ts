// Training-time augmentation of the classifier's batches (never of validation or evaluation
// images): each example is zero-padded by `crop` pixels on every side and cropped back to its
// size at a random offset (pad-and-random-crop, as the CIFAR ResNets train), then flipped left to
// right with probability 1/2 when `flip` is on. Padding is black (byte 0, before x/255), as
// torchvision's RandomCrop(padding=crop) on the uint8 image.
// The draws of example i in epoch e come from createRng(`${seed}|augment|${e}|${i}`) (i: its index
// in the data): a pure function of (cell seed, epoch, example), so a resumed run replays them from
// the step counter alone, whatever the batch an example falls in. One pass over the bytes does the
// shift, the flip and x/255 together (input.ts's preprocess otherwise).
import { pixelsPerImage, type ImageGeometry } from '../image/geometry.js';
import { createRng } from '../rng.js';
import { PIXEL_SCALE } from './input.js';

export interface Augmentation {
  /** Zero-pad by this many pixels on each side, then crop back at a random offset (0: no crop). */
  crop: number;
  /** Random horizontal flip. */
  flip: boolean;
}

/** What a recipe without `augment` gets for 'resnet' (the CIFAR recipe); 'mlp' and 'cnn' get none. */
export const RESNET_AUGMENTATION: Augmentation = Object.freeze({ crop: 4, flip: true });

export const MAX_CROP = 64;

/** The augmentation training applies: the recipe's, else the arch's default; null when it does nothing. */
export function augmentationFor(arch: string, augment?: Augmentation): Augmentation | null {
  const a = augment ?? (arch === 'resnet' ? RESNET_AUGMENTATION : null);
  if (!a || (a.crop === 0 && !a.flip)) return null;
  checkAugmentation(a, 'training.augment');
  return { crop: a.crop, flip: a.flip };
}

export function checkAugmentation(a: unknown, what: string): asserts a is Augmentation {
  const h = a as Record<string, unknown> | null;
  if (!h || typeof h !== 'object' || !Number.isInteger(h.crop) || (h.crop as number) < 0 || (h.crop as number) > MAX_CROP || typeof h.flip !== 'boolean') {
    throw new Error(`${what}: expected {crop: integer in [0, ${MAX_CROP}], flip: boolean}, got ${JSON.stringify(a)?.slice(0, 200)}`);
  }
}

/** One example's draws. */
export interface AugmentDraw {
  /** Offsets into the padded image, in [0, 2 crop]: the crop's top and left. */
  dy: number;
  dx: number;
  flip: boolean;
}

export function augmentDraw(aug: Augmentation, seed: number | string, epoch: number, example: number): AugmentDraw {
  const rng = createRng(`${seed}|augment|${epoch}|${example}`);
  const span = 2 * aug.crop + 1;
  const dy = aug.crop > 0 ? rng.int(span) : 0;
  const dx = aug.crop > 0 ? rng.int(span) : 0;
  return { dy, dx, flip: aug.flip && rng.uniform() < 0.5 };
}

/**
 * x / 255 of images [0, count) of `images` (row i is example `examples[i]`, whose index keys its
 * draws), each shifted and flipped by its draw; pixels shifted in from outside are 0.
 */
export function preprocessAugmented(
  images: Uint8Array,
  count: number,
  geometry: ImageGeometry,
  aug: Augmentation,
  seed: number | string,
  epoch: number,
  examples: ArrayLike<number>,
): Float32Array {
  const { size, channels } = geometry;
  const per = pixelsPerImage(geometry);
  if (images.length < count * per) throw new RangeError(`${images.length} pixel bytes for ${count} images of ${per}`);
  const out = new Float32Array(count * per);
  const rowBytes = size * channels;
  for (let i = 0; i < count; i++) {
    const { dy, dx, flip } = augmentDraw(aug, seed, epoch, examples[i]!);
    const base = i * per;
    for (let r = 0; r < size; r++) {
      const sr = r + dy - aug.crop;
      if (sr < 0 || sr >= size) continue;
      const srcRow = base + sr * rowBytes;
      const dstRow = base + r * rowBytes;
      for (let c = 0; c < size; c++) {
        const sc = (flip ? size - 1 - c : c) + dx - aug.crop;
        if (sc < 0 || sc >= size) continue;
        const src = srcRow + sc * channels;
        const dst = dstRow + c * channels;
        for (let k = 0; k < channels; k++) out[dst + k] = PIXEL_SCALE[images[src + k]!]!;
      }
    }
  }
  return out;
}
