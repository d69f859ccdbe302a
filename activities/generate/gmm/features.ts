// What each mixture component looks like, for prompt attributes: features of its mean image.
import type { GmmGeneratorModel } from './model.js';

/**
 * Per component, features of its mean image (of its BT.601 luma, for colour models): brightness
 * (mean intensity of its foreground, pixels above -0.5 in [-1, 1]), size (the foreground's share
 * of the image) and texture (mean absolute difference of neighbouring pixels), each z-scored among
 * the components of the same class, so an attribute moves weight between a class's own modes and
 * never changes the class.
 */
export function componentFeatureZ(model: GmmGeneratorModel): Float64Array {
  const K = model.componentClass.length;
  const D = model.pcaDims;
  const V = model.pixels;
  const { size: side, channels } = model.geometry;
  const P = side * side;
  const raw = new Float64Array(K * 3);
  const img = new Float64Array(V);
  const x = channels === 1 ? img : new Float64Array(P);
  for (let k = 0; k < K; k++) {
    for (let v = 0; v < V; v++) img[v] = model.mean[v]!;
    for (let d = 0; d < D; d++) {
      const coef = model.componentMean[k * D + d]!;
      for (let v = 0; v < V; v++) img[v] = img[v]! + coef * model.basis[d * V + v]!;
    }
    if (channels === 3) for (let p = 0; p < P; p++) x[p] = 0.299 * img[3 * p]! + 0.587 * img[3 * p + 1]! + 0.114 * img[3 * p + 2]!;
    let fg = 0;
    let fgSum = 0;
    let tv = 0;
    for (let p = 0; p < P; p++) {
      if (x[p]! > -0.5) {
        fg++;
        fgSum += (x[p]! + 1) / 2;
      }
      if ((p + 1) % side !== 0) tv += Math.abs(x[p + 1]! - x[p]!);
      if (p + side < P) tv += Math.abs(x[p + side]! - x[p]!);
    }
    raw[k * 3] = fg ? fgSum / fg : 0;
    raw[k * 3 + 1] = fg / P;
    raw[k * 3 + 2] = tv / P;
  }
  const z = new Float64Array(K * 3);
  for (let c = 0; c < model.classes.length; c++) {
    const members: number[] = [];
    for (let k = 0; k < K; k++) if (model.componentClass[k] === c) members.push(k);
    for (let a = 0; a < 3; a++) {
      const values = members.map((k) => raw[k * 3 + a]!);
      const mean = values.reduce((s, v) => s + v, 0) / Math.max(1, values.length);
      const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, values.length));
      for (const k of members) z[k * 3 + a] = sd > 1e-9 ? (raw[k * 3 + a]! - mean) / sd : 0;
    }
  }
  return z;
}
