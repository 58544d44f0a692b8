// sharp (libvips) has no BMP loader, so BMP headers are read and pixels decoded here.
// Supported: uncompressed 1/4/8-bit palette, 16/24/32-bit, and BI_BITFIELDS masks; RLE-compressed files are refused.

export interface BmpHeader {
  readonly width: number;
  readonly height: number;
  readonly bitsPerPixel: number;
  readonly topDown: boolean;
  readonly pixelOffset: number;
  readonly rowBytes: number;
  readonly masks: readonly [r: number, g: number, b: number, a: number] | null;
  readonly palette: readonly (readonly [r: number, g: number, b: number])[];
}

export interface RawImage {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
}

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

/** Reads and checks a BMP header; throws with the reason when the file is not a BMP this module can decode. */
export function readBmpHeader(bytes: Buffer): BmpHeader {
  if (bytes.length < 26 || bytes.toString('latin1', 0, 2) !== 'BM') throw new Error('not a BMP file (no BM signature)');
  const pixelOffset = bytes.readUInt32LE(10);
  const dibSize = bytes.readUInt32LE(14);
  const core = dibSize === 12;
  if (!core && (dibSize < 40 || bytes.length < 14 + dibSize)) throw new Error(`BMP header is truncated or unknown (DIB size ${dibSize})`);
  const width = core ? bytes.readUInt16LE(18) : bytes.readInt32LE(18);
  const rawHeight = core ? bytes.readInt16LE(20) : bytes.readInt32LE(22);
  const bitsPerPixel = bytes.readUInt16LE(core ? 24 : 28);
  const compression = core ? BI_RGB : bytes.readUInt32LE(30);
  if (width <= 0 || rawHeight === 0) throw new Error(`BMP has an invalid size ${width}x${rawHeight}`);
  if (![1, 4, 8, 16, 24, 32].includes(bitsPerPixel)) throw new Error(`BMP with ${bitsPerPixel} bits per pixel is not supported`);
  if (![BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS].includes(compression)) {
    throw new Error(`compressed BMP (compression ${compression}) is not supported`);
  }

  let masks: BmpHeader['masks'] = null;
  if (compression !== BI_RGB) {
    const at = 14 + 40;
    const hasAlpha = compression === BI_ALPHABITFIELDS || dibSize >= 56;
    masks = [bytes.readUInt32LE(at), bytes.readUInt32LE(at + 4), bytes.readUInt32LE(at + 8), hasAlpha ? bytes.readUInt32LE(at + 12) : 0];
  } else if (bitsPerPixel === 16) {
    masks = [0x7c00, 0x03e0, 0x001f, 0];
  }

  const palette: [number, number, number][] = [];
  if (bitsPerPixel <= 8) {
    const entrySize = core ? 3 : 4;
    const used = core ? 0 : bytes.readUInt32LE(46);
    const count = used || 1 << bitsPerPixel;
    const start = 14 + dibSize + (compression === BI_BITFIELDS && dibSize === 40 ? 12 : 0);
    if (start + count * entrySize > bytes.length) throw new Error('BMP palette is truncated');
    for (let i = 0; i < count; i++) {
      const o = start + i * entrySize;
      palette.push([bytes[o + 2]!, bytes[o + 1]!, bytes[o]!]);
    }
  }

  const height = Math.abs(rawHeight);
  const rowBytes = Math.ceil((width * bitsPerPixel) / 32) * 4;
  return { width, height, bitsPerPixel, topDown: rawHeight < 0, pixelOffset, rowBytes, masks, palette };
}

/** Decodes a whole BMP file to raw RGB (or RGBA when it has an alpha mask), top row first. */
export function decodeBmp(bytes: Buffer): RawImage {
  const header = readBmpHeader(bytes);
  const { width, height, bitsPerPixel, rowBytes, pixelOffset, masks, palette } = header;
  if (pixelOffset + rowBytes * height > bytes.length) {
    throw new Error(`BMP pixel data is truncated (${bytes.length} bytes, ${pixelOffset + rowBytes * height} needed)`);
  }
  const channels = masks && masks[3] !== 0 ? 4 : 3;
  const out = Buffer.alloc(width * height * channels);
  const channel = masks?.map(maskReader) ?? null;

  for (let y = 0; y < height; y++) {
    const row = pixelOffset + (header.topDown ? y : height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      let rgba: readonly number[];
      if (bitsPerPixel <= 8) {
        const perByte = 8 / bitsPerPixel;
        const byte = bytes[row + Math.floor(x / perByte)]!;
        const shift = 8 - bitsPerPixel * ((x % perByte) + 1);
        const index = (byte >> shift) & ((1 << bitsPerPixel) - 1);
        rgba = palette[index] ?? [0, 0, 0];
      } else if (channel) {
        const value = bitsPerPixel === 16 ? bytes.readUInt16LE(row + x * 2) : bytes.readUInt32LE(row + x * 4);
        rgba = channel.map((read) => read(value));
      } else {
        const p = row + x * (bitsPerPixel / 8);
        rgba = [bytes[p + 2]!, bytes[p + 1]!, bytes[p]!];
      }
      for (let c = 0; c < channels; c++) out[o + c] = rgba[c] ?? 255;
    }
  }
  return { data: out, width, height, channels };
}

/** A function reading one channel out of a packed pixel by its bit mask, scaled to 0-255. */
function maskReader(mask: number): (value: number) => number {
  if (mask === 0) return () => 255;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const max = mask >>> shift;
  return (value) => Math.round((((value & mask) >>> shift) * 255) / max);
}

/** Encodes raw RGB pixels (top row first) as an uncompressed 24-bit BMP. */
export function encodeBmp(image: { data: Buffer; width: number; height: number }): Buffer {
  const { data, width, height } = image;
  const rowBytes = Math.ceil((width * 24) / 32) * 4;
  const pixelOffset = 14 + 40;
  const out = Buffer.alloc(pixelOffset + rowBytes * height);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(pixelOffset, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  out.writeUInt32LE(rowBytes * height, 34);
  for (let y = 0; y < height; y++) {
    const row = pixelOffset + (height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      out[row + x * 3] = data[i + 2]!;
      out[row + x * 3 + 1] = data[i + 1]!;
      out[row + x * 3 + 2] = data[i]!;
    }
  }
  return out;
}
