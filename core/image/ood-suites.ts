// The OOD suite registry: each suite's name, what it does, its parameter at severities 1..5, and
// how to build its per-image transform. The spec side (zod schemas, suite ids, defaults) is
// contracts/spec/ood.ts.
//
// Any geometry: levels are stated for Fashion-MNIST's 28-pixel side. A parameter measured in
// pixels (blur sigma, pixelate cell, shift distance, elastic displacement) is multiplied by
// size / 28 (pixelate cells rounded, at least 1), so a severity is the same shift relative to the
// image at any size; angles, grey levels and contrast factors do not depend on the size. Every
// channel is transformed alike (one rotation, shift or warp field per image; contrast around each
// channel's mean); noise is drawn per byte, so each channel of RGB gets its own. At 28x28 grey the
// scale is exactly 1 and every suite gives the bytes it gave before geometries.
import { FASHION_MNIST_GEOMETRY, pixelsPerImage, type ImageGeometry } from './geometry.js';
import { clampByte, type ImageOp } from './image-op.js';
import { applyWarp, prepareElastic, rotationTable } from './warp.js';
import { contrastInto, pixelateInto, prepareBlur, translateInto } from './filters.js';

/** The factor pixel-measured levels are multiplied by at `geometry` (1 at 28 pixels). */
export function oodPixelScale(geometry: ImageGeometry): number {
  return geometry.size / FASHION_MNIST_GEOMETRY.size;
}

export const OOD_SEVERITIES = [1, 2, 3, 4, 5] as const;

export const OOD_SUITE_NAMES = [
  'rotate',
  'gaussian-noise',
  'gaussian-blur',
  'invert',
  'contrast',
  'pixelate',
  'shift',
  'elastic',
] as const;
export type OodSuiteName = (typeof OOD_SUITE_NAMES)[number];

/** Per-severity parameter (index 0 = severity 1). */
export type OodLevels = readonly [number, number, number, number, number];

export interface OodSuite {
  name: OodSuiteName;
  /** One line for reports. */
  description: string;
  /** What `levels` means, with its unit. */
  parameter: string;
  /** The parameter at severities 1..5. */
  levels: OodLevels;
  /** Whether the suite draws random numbers (otherwise the seed has no effect). */
  random: boolean;
  /** True when every severity gives the same images (suiteId then omits the severity). */
  severityInvariant: boolean;
  /** ImageNet-C/-R analogue, for reports. */
  analogue: string;
  /** Builds the per-image transform for one level's parameter at a geometry (tables are computed once here). */
  prepare(param: number, geometry: ImageGeometry): ImageOp;
}

// ---------------------------------------------------------------------------------------------
// The registry.

const SUITES: Record<OodSuiteName, OodSuite> = {
  rotate: {
    name: 'rotate',
    description: 'rotation about the centre by a fixed angle, sense (clockwise or not) drawn per image; bilinear, zero fill',
    parameter: 'angle in degrees',
    levels: [15, 30, 45, 60, 90],
    random: true,
    severityInvariant: false,
    analogue: 'MNIST-C rotate',
    prepare(degrees, geometry) {
      const ccw = rotationTable(degrees, geometry.size);
      const cw = rotationTable(-degrees, geometry.size);
      return (src, dst, rng) => applyWarp(rng.uniform() < 0.5 ? ccw : cw, src, dst, geometry.channels);
    },
  },
  'gaussian-noise': {
    name: 'gaussian-noise',
    description: 'additive i.i.d. Gaussian pixel noise (the ImageNet-C sigmas on the 0..1 scale, times 255)',
    parameter: 'noise sigma in grey levels',
    levels: [0.08 * 255, 0.12 * 255, 0.18 * 255, 0.26 * 255, 0.38 * 255],
    random: true,
    severityInvariant: false,
    analogue: 'ImageNet-C gaussian_noise',
    prepare(sigma, geometry) {
      const N = pixelsPerImage(geometry);
      return (src, dst, rng) => {
        for (let i = 0; i < N; i++) dst[i] = clampByte(src[i]! + sigma * rng.normal());
      };
    },
  },
  'gaussian-blur': {
    name: 'gaussian-blur',
    description: 'separable Gaussian blur, kernel radius max(1, ceil(3 sigma)), mirrored edges (mean-preserving)',
    parameter: 'blur sigma in pixels',
    levels: [0.5, 0.75, 1, 1.5, 2],
    random: false,
    severityInvariant: false,
    analogue: 'ImageNet-C gaussian_blur (sigmas 1..6 at 224 px, scaled up for 28 px)',
    prepare: (sigma, geometry) => prepareBlur(sigma * oodPixelScale(geometry), geometry),
  },
  invert: {
    name: 'invert',
    description: 'negative, 255 - x: light background and dark garment, a rendition-style shift; ignores severity',
    parameter: 'none (every severity is the same)',
    levels: [1, 1, 1, 1, 1],
    random: false,
    severityInvariant: true,
    analogue: 'ImageNet-R / ImageNet-Sketch (rendition shift)',
    prepare(_param, geometry) {
      const N = pixelsPerImage(geometry);
      return (src, dst) => {
        for (let i = 0; i < N; i++) dst[i] = 255 - src[i]!;
      };
    },
  },
  contrast: {
    name: 'contrast',
    description: 'contrast reduction around the image mean: (x - mean) * factor + mean',
    parameter: 'contrast factor',
    levels: [0.4, 0.3, 0.2, 0.1, 0.05],
    random: false,
    severityInvariant: false,
    analogue: 'ImageNet-C contrast (same factors)',
    prepare(factor, geometry) {
      return (src, dst) => contrastInto(src, dst, factor, geometry);
    },
  },
  pixelate: {
    name: 'pixelate',
    description: 'box average over square cells (grid centred), nearest upsample',
    parameter: 'cell side in pixels',
    levels: [2, 3, 4, 5, 7],
    random: false,
    severityInvariant: false,
    analogue: 'ImageNet-C pixelate',
    prepare(block, geometry) {
      const cell = Math.max(1, Math.round(block * oodPixelScale(geometry)));
      return (src, dst) => pixelateInto(src, dst, cell, geometry);
    },
  },
  shift: {
    name: 'shift',
    description: 'translation by a fixed distance in a direction drawn per image, rounded to whole pixels, zero fill',
    parameter: 'distance in pixels',
    levels: [1, 2, 3, 4, 6],
    random: true,
    severityInvariant: false,
    analogue: 'MNIST-C translate',
    prepare(distance, geometry) {
      const d = distance * oodPixelScale(geometry);
      return (src, dst, rng) => {
        const phi = 2 * Math.PI * rng.uniform();
        translateInto(src, dst, Math.round(d * Math.cos(phi)), Math.round(d * Math.sin(phi)), geometry);
      };
    },
  },
  elastic: {
    name: 'elastic',
    description: 'smooth random warp: i.i.d. N(0, std^2) pixel displacements on a 5x5 control grid, bilinear in between and for resampling',
    parameter: 'displacement std at the control points, in pixels',
    levels: [0.5, 1, 1.5, 2, 2.5],
    random: true,
    severityInvariant: false,
    analogue: 'MNIST-C / ImageNet-C elastic_transform',
    prepare: (std, geometry) => prepareElastic(std * oodPixelScale(geometry), geometry),
  },
};

/** The registry, by name. */
export const OOD_SUITES: Readonly<Record<OodSuiteName, Readonly<OodSuite>>> = SUITES;

export function unknownSuiteMessage(name: unknown): string {
  return `unknown OOD suite ${JSON.stringify(name)}; known suites: ${OOD_SUITE_NAMES.join(', ')}`;
}

export function isOodSuiteName(name: unknown): name is OodSuiteName {
  return typeof name === 'string' && Object.hasOwn(SUITES, name);
}

/** The registry entry for a suite; throws, naming the known suites, when unknown. */
export function getOodSuite(name: string): Readonly<OodSuite> {
  if (!isOodSuiteName(name)) throw new Error(unknownSuiteMessage(name));
  return SUITES[name];
}

export function checkSeverity(severity: number): void {
  if (!Number.isInteger(severity) || severity < 1 || severity > 5) {
    throw new Error(`OOD severity must be an integer from 1 to 5, got ${severity}`);
  }
}

/** The suite's parameter at a severity (e.g. rotate at 3 -> 45 degrees). */
export function suiteParameter(name: string, severity: number): number {
  const suite = getOodSuite(name);
  checkSeverity(severity);
  return suite.levels[severity - 1]!;
}
