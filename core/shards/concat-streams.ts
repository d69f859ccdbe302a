// Several sample streams as one (a mixed source: N real images, then N_s synthetic ones), at one
// geometry.
import { geometryLabel, pixelsPerImage, sameGeometry } from '../image/geometry.js';
import type { SampleStream } from './stream.js';

/**
 * Several streams as one: examples [0, a.count) come from the first, the next b.count from the
 * second, and so on (a mixed source: N real images, then N_s synthetic ones). Segments are kept,
 * so the windowed shuffle still works on whole shards.
 */
export function concatStreams(streams: readonly SampleStream[]): SampleStream {
  if (streams.length === 1) return streams[0]!;
  if (streams.length === 0) throw new Error('concatStreams: no streams');
  const { geometry } = streams[0]!;
  const other = streams.find((s) => !sameGeometry(s.geometry, geometry));
  if (other) throw new Error(`cannot mix sources of different geometries (${geometryLabel(geometry)} and ${geometryLabel(other.geometry)}) in one stream`);
  const per = pixelsPerImage(geometry);
  const starts: number[] = [];
  let count = 0;
  for (const s of streams) {
    starts.push(count);
    count += s.count;
  }
  // Split a batch by stream: each part's local indices and its rows in the batch.
  const split = (indices: ArrayLike<number>) => {
    const parts = streams.map(() => ({ local: [] as number[], rows: [] as number[] }));
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i]!;
      if (!(index >= 0 && index < count)) throw new RangeError(`sample ${index} is out of range [0, ${count})`);
      let s = streams.length - 1;
      while (starts[s]! > index) s--;
      parts[s]!.local.push(index - starts[s]!);
      parts[s]!.rows.push(i);
    }
    return parts;
  };
  return {
    count,
    geometry,
    segments: streams.flatMap((s) => s.segments),
    async gatherTexts(indices, textOf) {
      const out = new Array<string>(indices.length);
      await Promise.all(
        split(indices).map(async (part, s) => {
          if (part.local.length === 0) return;
          const texts = await streams[s]!.gatherTexts(part.local, textOf);
          part.rows.forEach((row, j) => (out[row] = texts[j]!));
        }),
      );
      return out;
    },
    async gather(indices, images, labels) {
      // Gather each stream's part, then scatter back in the asked order.
      const parts = split(indices);
      await Promise.all(
        parts.map(async (part, s) => {
          if (part.local.length === 0) return;
          const partImages = new Uint8Array(part.local.length * per);
          const partLabels = new Uint8Array(part.local.length);
          await streams[s]!.gather(part.local, partImages, partLabels);
          part.rows.forEach((row, j) => {
            images.set(partImages.subarray(j * per, (j + 1) * per), row * per);
            labels[row] = partLabels[j]!;
          });
        }),
      );
    },
  };
}
