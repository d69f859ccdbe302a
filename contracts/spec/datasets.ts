// Sweep-spec schemas of datasets: a built-in one by name (core/datasets/registry.ts), or the lab's
// own images, imported once into the store (activities/datasets): an image folder
// (`root/<split>/<class>/*.{png,jpg,jpeg,webp}`, the ImageNet/torchvision layout) or labelled
// WebDataset shards (`{key}.{png,jpg,jpeg,webp}` + a label in `{key}.cls` or a field of `{key}.json`,
// the layout timm and open_clip read; img2dataset output with a label field). Also the geometry.
import { z } from 'zod';
import { DATASET_NAMES } from '../../core/datasets/registry.js';
import { shardListProblem } from '../../core/shards/brace.js';
import { MAX_IMAGE_SIZE, MIN_IMAGE_SIZE } from '../../core/image/geometry.js';

/** A local path, or a file:// or gs:// URI. */
const location = z
  .string()
  .min(1)
  .max(2000)
  .refine((s) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(s) || /^(file|gs):\/\//.test(s), 'use a local path, a file:// URI or a gs:// URI');

const shardUri = z
  .string()
  .max(2000)
  .regex(/^(file|gs):\/\/\S+\.tar$/, "use a file:// or gs:// URI of a .tar shard; '{000..009}' ranges expand, e.g. gs://bucket/train-{000..099}.tar");

/** A shard larger than this is refused before it is read (labelled shards here, real-pairs sources in sweep.ts). */

/** A shard list whose brace ranges name too many shards (or one shard twice) fails here, before expansion. */
export function shardListIssue(uris: string[], ctx: z.RefinementCtx): void {
  const problem = shardListProblem(uris);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}
export const maxShardBytesField = z
  .number()
  .int()
  .min(1024)
  .max(4 * 1024 * 1024 * 1024)
  .default(1024 * 1024 * 1024)
  .describe('a shard larger than this is refused before it is read');

export const splitName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use 1-64 letters, digits, dots, dashes and underscores');

/** What every imported dataset may say beside its layout. */
const common = {
  title: z.string().min(1).max(100).optional().describe('name in reports (default: the last part of the root or shard path)'),
  classes: z
    .union([z.array(z.string().min(1).max(200)).min(2).max(254), location])
    .optional()
    .describe(
      "class names in label order, or a classes file (one name per line, or LOC_synset_mapping.txt lines 'n01440764 tench, Tinca tinca'). Default: the image folder's class folders in sorted order; shards need it unless their labels are class names",
    ),
  wnids: z
    .union([z.array(z.string().regex(/^n\d{8}$/)).min(2).max(254), location])
    .optional()
    .describe("WordNet ids per class (ImageNet 'n01440764' style, list or LOC_synset_mapping.txt-style file) for the description and hypernym prompt strategies; class folders named by wnid give them too"),
  maxImagePixels: z
    .number()
    .int()
    .min(64)
    .max(1_000_000_000)
    .default(50_000_000)
    .describe('an image whose header claims more pixels is skipped (reason pixel-cap), never decoded'),
  skipBudget: z
    .number()
    .min(0)
    .max(0.5)
    .default(0.01)
    .describe('fraction of a split that may be skipped as unusable (corrupt, not an image, over the pixel cap); more fails the import with the reasons'),
  imagesPerShard: z.number().int().min(16).max(100_000).default(2000).describe('images per stored shard of the import'),
};

export const ImageFolderDatasetSchema = z
  .object({
    kind: z.literal('imagefolder'),
    root: location.describe('the folder holding one folder per split, each with one folder per class'),
    ...common,
  })
  .strict();

export const LabelledShardsDatasetSchema = z
  .object({
    kind: z.literal('webdataset'),
    splits: z
      .record(splitName, z.array(shardUri).min(1).max(100_000).superRefine(shardListIssue))
      .refine((s) => Object.keys(s).length >= 1, 'name at least one split, e.g. { train: [...], test: [...] }')
      .describe('per split, its shards in order'),
    label: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/)
      .default('cls')
      .describe("'cls': the label is the text of {key}.cls (a class index, or a class name); any other name: that field of {key}.json"),
    maxShardBytes: maxShardBytesField,
    ...common,
  })
  .strict();

export const ImportedDatasetSchema = z.discriminatedUnion('kind', [ImageFolderDatasetSchema, LabelledShardsDatasetSchema]);

/** `dataset:` in the spec: a built-in dataset's name, or the lab's own images. */
export const DatasetSchema = z.union([z.enum(DATASET_NAMES), ImportedDatasetSchema]);

/** `image:` in the spec: the geometry every stage works at (core/image/geometry.ts). */
export const ImageGeometrySchema = z
  .object({
    size: z.number().int().min(MIN_IMAGE_SIZE).max(MAX_IMAGE_SIZE).describe('side in pixels: images are brought to size x size (shorter side to size, then a centre crop)'),
    channels: z.union([z.literal(1), z.literal(3)]).default(3).describe('1: grey, 3: RGB'),
  })
  .strict();

export type DatasetSpec = z.output<typeof DatasetSchema>;
export type ImportedDatasetSpec = z.output<typeof ImportedDatasetSchema>;
export type ImageFolderDatasetSpec = z.output<typeof ImageFolderDatasetSchema>;
export type LabelledShardsDatasetSpec = z.output<typeof LabelledShardsDatasetSchema>;

/** Geometry of a sweep whose spec gives no `image:`: the built-in dataset's own; 32x32 RGB for imported ones. */
export const DEFAULT_IMPORTED_GEOMETRY = { size: 32, channels: 3 } as const;
