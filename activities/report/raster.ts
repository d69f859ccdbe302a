// PNG copies of the report's SVG charts, for READMEs and papers: sharp renders the SVG with
// librsvg (text through fontconfig, so the machine's fonts decide the glyphs) at 2x, on white.
import sharp from 'sharp';

export interface RasterImage {
  png: Uint8Array;
  width: number;
  height: number;
}

export interface RasterOptions {
  /** Output pixels per SVG user unit (CSS px); lowered as needed to stay within the bounds below. */
  scale?: number;
  /** Longest side of the output, in pixels. */
  maxSide?: number;
  /** Total output pixels. */
  maxPixels?: number;
}

/** sharp renders an SVG at `density` dpi, and at 72 dpi one SVG unit is one pixel. */
const BASE_DENSITY = 72;

export async function rasterizeSvg(svg: string, options: RasterOptions = {}): Promise<RasterImage> {
  const { scale = 2, maxSide = 8000, maxPixels = 32_000_000 } = options;
  const input = Buffer.from(svg, 'utf8');
  // Reading the size renders nothing, so any size may be read; the render below is bounded.
  const meta = await sharp(input, { limitInputPixels: false }).metadata();
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (!(width > 0 && height > 0)) throw new Error(`SVG without a size (${width}x${height}): cannot rasterize`);
  // A sweep with many eval sets makes a tall chart: shrink the scale rather than write a huge PNG.
  const fitted = Math.min(scale, maxSide / width, maxSide / height, Math.sqrt(maxPixels / (width * height)));
  // The limit leaves room for rounding the scaled size up.
  const { data, info } = await sharp(input, { density: BASE_DENSITY * fitted, limitInputPixels: Math.ceil(maxPixels * 1.01) + width + height })
    .flatten({ background: '#ffffff' })
    .png({ compressionLevel: 9 })
    .toBuffer({ resolveWithObject: true });
  return { png: new Uint8Array(data), width: info.width, height: info.height };
}
