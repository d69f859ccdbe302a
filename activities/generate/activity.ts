// Generation stage: fit the embedded generator once (cached), then render one shard per activity.
import { heartbeat, log } from '@temporalio/activity';
import { IMAGE_SIDE } from '../../core/fashion-mnist.js';
import { inputHash } from '../../core/hash.js';
import { encodeGrayPng } from '../../core/png.js';
import type { GeneratorSpec } from '../../core/spec.js';
import { getJson, hasValidObject } from '../../core/storage.js';
import { loadDatasetSplit, type ActivityDeps } from '../context.js';
import type { Prompt } from '../prompts/strategies.js';
import type { ShardRecord } from '../shards/manifest.js';
import { packShard, sampleKey, type ShardSample } from '../shards/webdataset.js';
import {
  deserializeGmmModel,
  fitGmmGenerator,
  GENERATOR_CODE_VERSION,
  sampleImage,
  serializeGmmModel,
  type GmmGeneratorModel,
} from './gmm-diffusion.js';
import { promptToClassWeights } from './text-condition.js';

export interface FitGeneratorInput {
  generator: GeneratorSpec;
  classes: string[];
  datasetFingerprint: string;
}

export interface FitGeneratorOutput {
  modelUri: string;
  cached: boolean;
  seconds: number;
}

export interface GenerateShardInput {
  source: string;
  shardKey: string;
  modelUri: string;
  promptsUri: string;
  firstIndex: number;
  count: number;
  cfgScale: number;
  steps: number;
  generationSeed: number;
  generatorLabel: string;
}

export interface GenerateShardOutput extends ShardRecord {
  cached: boolean;
  seconds: number;
}

const models = new Map<string, Promise<GmmGeneratorModel>>();
const promptLists = new Map<string, Promise<Prompt[]>>();

function memo<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let pending = cache.get(key);
  if (!pending) {
    pending = load();
    if (cache.size > 16) cache.delete(cache.keys().next().value!);
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
  }
  return pending;
}

export function createGenerateActivities(deps: ActivityDeps) {
  const loadModel = (uri: string) =>
    memo(models, uri, async () => deserializeGmmModel(await deps.store.get(deps.store.keyOf(uri), { maxBytes: 64 * 1024 * 1024 })));
  const loadPrompts = (uri: string) =>
    memo(promptLists, uri, async () => {
      const doc = await getJson<{ prompts: Prompt[] }>(deps.store, deps.store.keyOf(uri), 64 * 1024 * 1024);
      if (!Array.isArray(doc.prompts)) throw new Error(`${uri}: no prompts array`);
      return doc.prompts;
    });

  return {
    async fitGenerator(input: FitGeneratorInput): Promise<FitGeneratorOutput> {
      const started = Date.now();
      const key = `generators/${input.generator.name}-${inputHash('fit-generator', GENERATOR_CODE_VERSION, input)}/model.bin`;
      if (await hasValidObject(deps.store, key, (m) => log.warn('refitting corrupt generator', { reason: m }))) {
        return { modelUri: deps.store.uri(key), cached: true, seconds: (Date.now() - started) / 1000 };
      }
      const train = await loadDatasetSplit(deps, 'train');
      const model = fitGmmGenerator(
        train,
        { pcaDims: input.generator.pcaDims, componentsPerClass: input.generator.componentsPerClass, fitSeed: input.generator.fitSeed },
        input.classes,
        (message) => heartbeat({ phase: message }),
      );
      const put = await deps.store.put(key, serializeGmmModel(model));
      return { modelUri: put.uri, cached: false, seconds: (Date.now() - started) / 1000 };
    },

    async generateShard(input: GenerateShardInput): Promise<GenerateShardOutput> {
      const started = Date.now();
      const record = (head: { sha256: string; size: number }, failedItems: ShardRecord['failedItems'], samples: number) => ({
        uri: deps.store.uri(input.shardKey),
        sha256: head.sha256,
        bytes: head.size,
        samples,
        firstIndex: input.firstIndex,
        failedItems,
      });
      // The stats file is written after the tar: together they mark the shard done.
      const onCorrupt = (reason: string) => log.warn('regenerating corrupt shard', { reason });
      if (
        (await hasValidObject(deps.store, `${input.shardKey}.stats.json`, onCorrupt)) &&
        (await hasValidObject(deps.store, input.shardKey, onCorrupt))
      ) {
        const head = (await deps.store.head(input.shardKey))!;
        const stats = await getJson<{ samples: number; failedItems: ShardRecord['failedItems'] }>(deps.store, `${input.shardKey}.stats.json`);
        return { ...record(head, stats.failedItems, stats.samples), cached: true, seconds: (Date.now() - started) / 1000 };
      }
      const [model, prompts] = await Promise.all([loadModel(input.modelUri), loadPrompts(input.promptsUri)]);
      const samples: ShardSample[] = [];
      const failedItems: ShardRecord['failedItems'] = [];
      for (let offset = 0; offset < input.count; offset++) {
        const index = input.firstIndex + offset;
        const prompt = prompts[index];
        if (!prompt) throw new Error(`${input.promptsUri} has no prompt ${index}`);
        const seed = `${input.generationSeed}|${index}`;
        try {
          const pixels = sampleImage(model, {
            classWeights: promptToClassWeights(prompt.text, model.classes),
            cfgScale: input.cfgScale,
            steps: input.steps,
            seed,
          });
          samples.push({
            key: sampleKey(index),
            png: encodeGrayPng(pixels, IMAGE_SIDE, IMAGE_SIDE),
            meta: {
              label: prompt.classIndex,
              className: model.classes[prompt.classIndex] ?? String(prompt.classIndex),
              prompt: prompt.text,
              cfgScale: input.cfgScale,
              seed,
              generator: input.generatorLabel,
              source: input.source,
              index,
            },
          });
        } catch (err) {
          failedItems.push({ index, reason: (err as Error).message.slice(0, 200) });
        }
        if (offset % 50 === 49) {
          heartbeat({ imagesDone: offset + 1, of: input.count });
          await new Promise((r) => setImmediate(r));
        }
      }
      const put = await deps.store.put(input.shardKey, await packShard(samples));
      await deps.store.put(
        `${input.shardKey}.stats.json`,
        new TextEncoder().encode(JSON.stringify({ samples: samples.length, failedItems })),
      );
      return { ...record(put, failedItems, samples.length), cached: false, seconds: (Date.now() - started) / 1000 };
    },
  };
}
