// A small RGB image problem for the models' tests: coloured squares and rings (4 classes: red or
// blue x filled square or one-pixel ring) of random size and place on dim noise, drawn from a
// seeded rng. Telling the classes apart needs both the channels (colour) and the spatial structure
// (shape): a model of the mean colour alone scores 50%, chance is 25%. Flips and small shifts keep
// the label, so the ResNet's augmentation applies.
import type { ImageGeometry } from '../../../core/image/geometry.js';
import { createRng } from '../../../core/rng.js';

export const SHAPE_CLASSES = ['red square', 'red ring', 'blue square', 'blue ring'] as const;

export interface ShapeSet {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  geometry: ImageGeometry;
  classCount: number;
}

export function rgbShapes(count: number, seed: string, size = 16): ShapeSet {
  const geometry: ImageGeometry = { size, channels: 3 };
  const rng = createRng(`rgb-shapes|${seed}`);
  const per = size * size * 3;
  const images = new Uint8Array(count * per);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const label = rng.int(4);
    labels[i] = label;
    const base = i * per;
    for (let p = 0; p < per; p++) images[base + p] = rng.int(60);
    const side = 5 + rng.int(Math.max(1, Math.floor(size / 2) - 4));
    const top = rng.int(size - side + 1);
    const left = rng.int(size - side + 1);
    const strong = 170 + rng.int(80);
    const weak = rng.int(70);
    const colour = label < 2 ? [strong, weak, weak] : [weak, weak, strong];
    const ring = label % 2 === 1;
    for (let r = top; r < top + side; r++) {
      for (let c = left; c < left + side; c++) {
        const edge = r === top || r === top + side - 1 || c === left || c === left + side - 1;
        if (ring && !edge) continue;
        for (let k = 0; k < 3; k++) images[base + (r * size + c) * 3 + k] = colour[k]!;
      }
    }
  }
  return { images, labels, count, geometry, classCount: 4 };
}
