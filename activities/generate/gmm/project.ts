// The embedded generator's representation on its own: an image projected onto the model's PCA
// basis and reconstructed, with no mixture and no sampler (the control source's images).
import type { GmmGeneratorModel } from './model.js';
import { prepare } from './prepared.js';
import { decodeInto } from './sampler.js';

/** mean + V^T V (x - mean) for x = the image scaled to [-1, 1], back to bytes (rounded, clipped) as the sampler decodes. */
export function projectImage(model: GmmGeneratorModel, image: Uint8Array): Uint8Array {
  const ready = prepare(model);
  const { D, P, mean, basis } = ready;
  if (image.length !== P) throw new Error(`projectImage: ${image.length} pixels, the model has ${P}`);
  const centered = new Float64Array(P);
  for (let p = 0; p < P; p++) centered[p] = image[p]! / 127.5 - 1 - mean[p]!;
  const z = new Float64Array(D);
  for (let d = 0; d < D; d++) {
    let s = 0;
    for (let p = 0, bo = d * P; p < P; p++) s += basis[bo + p]! * centered[p]!;
    z[d] = s;
  }
  const out = new Uint8Array(P);
  decodeInto(ready, z, 0, out, 0);
  return out;
}
