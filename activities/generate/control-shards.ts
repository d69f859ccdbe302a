// The writeControlShards activity: the control source. The real source's draws (the same seeds,
// the same images: core/datasets/real-draws.ts), each passed through the fitted embedded
// generator's PCA projection and reconstruction, as shards and one manifest per seed, at the
// dataset's geometry (the model's: it was fitted on that dataset) with its classes.
import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import { FAILURE_TYPES } from '../../contracts/failures.js';
import { loadDatasetSplit, type ActivityDeps } from '../../core/activity-deps.js';
import { realOrder, writeDrawnShards, writeSeedManifests, type SeedManifests } from '../../core/datasets/real-draws.js';
import { inputHash } from '../../core/hash.js';
import { geometryLabel, sameGeometry } from '../../core/image/geometry.js';
import { sourceDataset } from '../../core/shards/source-dataset.js';
import { sha256, type BlobStore } from '../../core/storage.js';
import { deserializeGmmModel } from './gmm/model-format.js';
import { projectImage } from './gmm/project.js';

/** Names the control source's shards (with the model's bytes and the draw). */
export const CONTROL_SHARDS_CODE_VERSION = 'control-shards-1';

export interface WriteControlShardsInput {
  /** The fitted embedded generator whose PCA basis the images go through. */
  modelUri: string;
  count: number;
  shardSize: number;
  /** The draw seed without `seeds` (seedDraws 'init'). */
  seed: number;
  /** seedDraws 'data': one draw, and manifest, per seed (the real source's). */
  seeds?: number[];
  datasetFingerprint: string;
}

export type WriteControlShardsOutput = SeedManifests;

export async function writeControlShards(
  deps: ActivityDeps,
  openStore: (what: string) => BlobStore,
  input: WriteControlShardsInput,
): Promise<WriteControlShardsOutput> {
  const store = openStore('writeControlShards');
  const modelBytes = await store.get(store.keyOf(input.modelUri), { maxBytes: 64 * 1024 * 1024 });
  const model = deserializeGmmModel(modelBytes);
  const modelSha256 = sha256(modelBytes);
  const dataset = await sourceDataset(deps, input.datasetFingerprint);
  if (!sameGeometry(model.geometry, dataset.geometry)) {
    throw ApplicationFailure.nonRetryable(`${input.modelUri} is a ${geometryLabel(model.geometry)} model, the dataset is ${geometryLabel(dataset.geometry)}`, FAILURE_TYPES.invalidInput);
  }
  return writeSeedManifests(input.seeds, input.seed, (seed) =>
    writeDrawnShards({
      store,
      sourceKey: `sources/control-${inputHash('control-source', CONTROL_SHARDS_CODE_VERSION, {
        model: modelSha256,
        dataset: input.datasetFingerprint,
        seed,
        shardSize: input.shardSize,
      })}`,
      count: input.count,
      shardSize: input.shardSize,
      manifest: {
        source: 'control',
        // Generator output, not raw real images: nothing that treats real manifests specially should take them.
        kind: 'synthetic',
        description: `real ${dataset.title} images from the real pool through the embedded generator's ${model.pcaDims}-dimensional PCA projection and reconstruction`,
        classes: dataset.classes,
      },
      async load() {
        const train = await loadDatasetSplit(deps, input.datasetFingerprint, 'train');
        return { train, order: realOrder(train, input.datasetFingerprint, dataset.classes.length, seed) };
      },
      pixels: (image) => projectImage(model, image),
      onShard: (shardsDone) => heartbeat({ seed, shardsDone }),
    }),
  );
}
