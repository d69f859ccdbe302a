// What a generator kind provides to the generation stage; ./backends.ts holds one per kind.
import type { ImageGeometry } from '../../core/image/geometry.js';
import type { SampleMeta } from '../../core/shards/webdataset.js';
import type { BlobStore } from '../../core/storage.js';
import type { GeneratorSpec } from '../../contracts/spec/sweep.js';
import type { GenerateShardInput } from './io.js';
import type { ItemGenerator } from './item-generator.js';

/** Sample metadata a kind records besides what every generated sample records. */
export type BackendSampleMeta = Pick<SampleMeta, 'http'>;

/** A kind's generator, ready for one shard attempt. */
export interface ShardGenerator {
  /** Class names the samples are labelled with. */
  classes: readonly string[];
  /** The geometry of every PNG the item generator returns. */
  geometry: ImageGeometry;
  /**
   * The generator runs in this process, synchronously (the embedded one): its PNGs are encodePng's
   * own, so they are not decoded again to check them, and a call cannot hang on I/O, so it gets no
   * per-try deadline (a timer could not interrupt it anyway).
   */
  inProcess?: boolean;
  /** The per-item generator (made once the shard's prompts are checked). */
  itemGenerator(): ItemGenerator;
  /** What to record in item `index`'s sample once its image is kept (then forgotten). */
  takeSampleMeta(index: number): BackendSampleMeta;
}

/** What a shard's generator is asked for besides its spec and input. */
export interface ShardRequest {
  /** The sweep's geometry (its dataset's): what a backend without a model of its own renders at. */
  geometry: ImageGeometry;
}

export interface GeneratorBackend<G extends GeneratorSpec | undefined> {
  /** What besides the shard's own inputs determines its samples (part of its fingerprint). */
  fingerprintInputs(spec: G, request: ShardRequest): Record<string, unknown>;
  /** Load what sampling needs (a fitted model, say), alongside the shard's prompts. */
  load(spec: G, input: GenerateShardInput, store: BlobStore, request: ShardRequest): Promise<ShardGenerator>;
}
