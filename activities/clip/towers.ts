// The two towers of the dual encoder (model.ts), as tensor functions: call inside tf.tidy.
// The image tower is the classifier trunk of core/nn's model registry, then a projection.
import * as tf from '@tensorflow/tfjs';
import { STATELESS, type ForwardMode } from '../../core/nn/models/definition.js';
import { modelDefinition } from '../../core/nn/models/registry.js';
import { clipLayout, towerSpec, type ClipConfig, type TowerConfig } from './model.js';
import { PAD_ID } from './tokenizer.js';

/**
 * Trunk output [n, F] for preprocessed images x [n, P] (P: the config's pixels per image): the
 * classifier up to its last hidden ReLU. `mode`: how a ResNet tower uses its batch norm state
 * (training: batch statistics; inference: the running ones); mlp/cnn towers have none.
 */
export function imageFeatures(config: TowerConfig, x: tf.Tensor2D, weights: readonly tf.Tensor[], mode: ForwardMode = STATELESS): tf.Tensor2D {
  const { trunk } = clipLayout(config);
  return modelDefinition(config.arch).trunk(x, weights.slice(0, trunk), towerSpec(config), mode);
}

/**
 * Rows scaled to unit L2 norm (an all-zero row stays zero), with the closed-form gradient
 * dx = (g - y (g·y)) / |x| (5 ops where autodiff of the forward pass takes ~12).
 */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad(((v: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const norm = tf.sqrt(tf.add(tf.sum(tf.square(v), 1, true), 1e-12));
    const y = tf.div(v, norm);
    save([y, norm]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [yy, nn] = saved as [tf.Tensor, tf.Tensor];
        return tf.div(tf.sub(dy, tf.mul(yy, tf.sum(tf.mul(dy, yy), 1, true))), nn);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor2D;
}

/** Normalised image embeddings [n, E]. */
export function embedImages(config: ClipConfig, x: tf.Tensor2D, weights: readonly tf.Tensor[], mode: ForwardMode = STATELESS): tf.Tensor2D {
  const layout = clipLayout(config);
  return l2Normalize(tf.matMul(imageFeatures(config, x, weights, mode), weights[layout.imageProjection] as tf.Tensor2D));
}

/**
 * A batch of token rows as what the text tower's masked mean pooling needs: the distinct token
 * ids present (ascending; [PAD] never, unless a batch has no token at all) and `bag` [rows, ids],
 * where bag[r][k] = (occurrences of ids[k] in row r) / (non-PAD tokens of row r). Then
 * pooled = bag · E[ids] is exactly the mean of the row's token embeddings.
 */
export interface TokenBag {
  rows: number;
  ids: Int32Array;
  bag: Float32Array;
}

export function tokenBag(tokens: Int32Array, rows: number, maxTokens: number, vocabSize: number): TokenBag {
  if (tokens.length < rows * maxTokens) throw new RangeError(`${tokens.length} token ids for ${rows} rows of ${maxTokens}`);
  const present = new Uint8Array(vocabSize);
  for (let i = 0; i < rows * maxTokens; i++) {
    const id = tokens[i]!;
    if (!(id >= 0 && id < vocabSize)) throw new RangeError(`token id ${id} at ${i} is outside the vocabulary [0, ${vocabSize})`);
    present[id] = 1;
  }
  present[PAD_ID] = 0;
  const slot = new Int32Array(vocabSize).fill(-1);
  const ids: number[] = [];
  for (let id = 0; id < vocabSize; id++) if (present[id]) slot[id] = ids.push(id) - 1;
  if (ids.length === 0) ids.push(PAD_ID); // keep shapes non-empty; its bag column stays 0
  const bag = new Float32Array(rows * ids.length);
  for (let r = 0; r < rows; r++) {
    let count = 0;
    for (let t = 0; t < maxTokens; t++) if (tokens[r * maxTokens + t] !== PAD_ID) count++;
    for (let t = 0; t < maxTokens; t++) {
      const id = tokens[r * maxTokens + t]!;
      if (id !== PAD_ID) bag[r * ids.length + slot[id]!]! += 1 / count;
    }
  }
  return { rows, ids: Int32Array.from(ids), bag };
}

/** Rows `ids` of `table`, with a scatter gradient (no UnsortedSegmentSum; ids must be distinct). */
function gatherRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const op = tf.customGrad(((t: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([ids]); // kept for the backward pass (a closed-over tensor would be disposed by then)
    return {
      value: tf.gather(t, ids),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.scatterND(tf.expandDims(saved[0]!, 1), dy, t.shape),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(table) as tf.Tensor2D;
}

/** Normalised text embeddings [rows, E] of a token bag. */
export function embedTexts(config: ClipConfig, bag: TokenBag, weights: readonly tf.Tensor[]): tf.Tensor2D {
  const layout = clipLayout(config);
  const table = gatherRows(weights[layout.tokenEmbedding] as tf.Tensor2D, tf.tensor1d(bag.ids, 'int32'));
  const pooled = tf.matMul(tf.tensor2d(bag.bag, [bag.rows, bag.ids.length]), table);
  return l2Normalize(tf.matMul(pooled, weights[layout.textProjection] as tf.Tensor2D));
}
