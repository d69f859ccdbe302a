// What an image file's header says, read incrementally from the first bytes of a stream: the
// format (PNG, JPEG or WebP, what the pair importer decodes) and the size, without decoding any
// pixels. A JPEG's frame header can follow megabytes of EXIF or ICC segments, so its markers are
// walked by their lengths as bytes pass, holding at most a few bytes: memory stays constant.

export interface ImageHeader {
  format: 'png' | 'jpeg' | 'webp';
  width: number;
  height: number;
}

export type ImageProbeResult = ImageHeader | { error: string };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not. */
const isStartOfFrame = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

const hex = (bytes: Uint8Array) => [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
const be16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
const be32 = (b: Uint8Array, at: number) => ((b[at]! << 24) >>> 0) + (b[at + 1]! << 16) + (b[at + 2]! << 8) + b[at + 3]!;
const le24 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
const ascii = (b: Uint8Array, at: number, n: number) => String.fromCharCode(...b.subarray(at, at + n));

/** Feed an image's bytes in chunks; `result` is set as soon as the header is read (or refused). */
export class ImageHeaderProbe {
  result: ImageProbeResult | undefined;
  private pending = new Uint8Array(0);
  private seen = 0;
  /** JPEG only: bytes of the current segment still to pass over. */
  private skip = 0;
  private jpeg = false;

  push(chunk: Uint8Array): void {
    if (this.result) return;
    this.seen += chunk.byteLength;
    if (this.jpeg && this.skip >= chunk.byteLength && this.pending.byteLength === 0) {
      this.skip -= chunk.byteLength;
      return;
    }
    const joined = new Uint8Array(this.pending.byteLength + chunk.byteLength);
    joined.set(this.pending);
    joined.set(chunk, this.pending.byteLength);
    this.pending = joined;
    this.result = this.jpeg ? this.walkJpeg() : this.sniff();
  }

  /** The verdict once the file has ended. */
  end(): ImageProbeResult {
    if (this.result) return this.result;
    if (this.seen === 0) return { error: 'empty image file' };
    if (this.seen < 4) return { error: `not a PNG, JPEG or WebP image (${this.seen} bytes)` };
    return { error: `image ends after ${this.seen} bytes, before its header says its size` };
  }

  private sniff(): ImageProbeResult | undefined {
    const b = this.pending;
    if (b.byteLength >= 2 && b[0] === 0xff && b[1] === 0xd8) {
      this.jpeg = true;
      this.pending = b.subarray(2);
      return this.walkJpeg();
    }
    const known = PNG_SIGNATURE.slice(0, 4).every((v, i) => b[i] === v) || ascii(b, 0, 4) === 'RIFF';
    if (b.byteLength >= 4 && !known) return { error: `not a PNG, JPEG or WebP image (starts with ${hex(b)})` };
    if (b.byteLength < 30) return undefined;
    if (PNG_SIGNATURE.every((v, i) => b[i] === v)) {
      if (ascii(b, 12, 4) !== 'IHDR') return { error: 'PNG without an IHDR chunk first' };
      return sized('png', be32(b, 16), be32(b, 20));
    }
    if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return webpHeader(b);
    return { error: `not a PNG, JPEG or WebP image (starts with ${hex(b)})` };
  }

  /** Walk JPEG markers (after SOI) to the first start-of-frame. */
  private walkJpeg(): ImageProbeResult | undefined {
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, this.pending.byteLength);
        this.pending = this.pending.subarray(n);
        this.skip -= n;
        if (this.skip > 0) return undefined;
      }
      const b = this.pending;
      if (b.byteLength < 2) return undefined;
      if (b[0] !== 0xff) return { error: `JPEG marker expected at byte ${this.seen - b.byteLength}, found 0x${b[0]!.toString(16)}` };
      const marker = b[1]!;
      if (marker === 0xff) {
        this.skip = 1; // fill byte
        continue;
      }
      if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
        this.skip = 2;
        continue;
      }
      if (marker === 0xd9 || marker === 0xda) return { error: 'JPEG without a frame header (SOF) before its image data' };
      if (b.byteLength < 4) return undefined;
      const length = be16(b, 2);
      if (length < 2) return { error: `JPEG segment 0x${marker.toString(16)} declares length ${length}` };
      if (isStartOfFrame(marker)) {
        if (b.byteLength < 9) return undefined;
        return sized('jpeg', be16(b, 7), be16(b, 5));
      }
      this.skip = 2 + length;
    }
  }
}

function sized(format: ImageHeader['format'], width: number, height: number): ImageProbeResult {
  if (width <= 0 || height <= 0) return { error: `${format.toUpperCase()} header gives a size of ${width}x${height}` };
  return { format, width, height };
}

function webpHeader(b: Uint8Array): ImageProbeResult {
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8 ') {
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return { error: 'WebP (VP8) without its frame start code' };
    return sized('webp', be16le(b, 26) & 0x3fff, be16le(b, 28) & 0x3fff);
  }
  if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) return { error: 'WebP (VP8L) without its signature byte' };
    const bits = (b[21]! | (b[22]! << 8) | (b[23]! << 16) | (b[24]! << 24)) >>> 0;
    return sized('webp', (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (chunk === 'VP8X') return sized('webp', le24(b, 24) + 1, le24(b, 27) + 1);
  return { error: `WebP with an unknown first chunk ${JSON.stringify(chunk)}` };
}

function be16le(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

/** The header of a whole image in memory. */
export function probeImageHeader(bytes: Uint8Array): ImageProbeResult {
  const probe = new ImageHeaderProbe();
  probe.push(bytes);
  return probe.end();
}
