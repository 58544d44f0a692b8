// Writes BMP files of every kind the format allows, byte by byte from the layout Microsoft documents
// (BITMAPFILEHEADER, BITMAPCOREHEADER / BITMAPINFOHEADER / BITMAPV4HEADER / BITMAPV5HEADER, RLE8 and RLE4 codes),
// for the decoder's tests. Independent of ./bmp.ts, whose reader these files check.

export interface Pixels {
  readonly width: number;
  readonly height: number;
  /** RGB or RGBA, row-major, top row first. */
  readonly data: Uint8Array;
  readonly channels: 3 | 4;
}

export interface BmpVariant {
  readonly name: string;
  readonly bits: 1 | 2 | 4 | 8 | 16 | 24 | 32;
  /** 'none' is BI_RGB; RLE only with 8 (rle8) or 4 (rle4) bits. */
  readonly compression: 'none' | 'rle8' | 'rle4' | 'bitfields' | 'alphabitfields';
  /** DIB header size: 12 (OS/2 1.x core), 40, 56 (V3), 64 (OS/2 2.x), 108 (V4), 124 (V5). */
  readonly header: 12 | 40 | 56 | 64 | 108 | 124;
  readonly topDown?: boolean;
  /** [r, g, b] or [r, g, b, a] bit masks for 'bitfields' / 'alphabitfields'. */
  readonly masks?: readonly number[];
  /** Writes the palette with fewer entries than the bit depth allows, and says so in biClrUsed. */
  readonly shortPalette?: boolean;
  /** RLE with only repeated runs and an end-of-line after every row (no absolute mode, delta or early end). */
  readonly runsOnly?: boolean;
}

/** Every variant the decoder supports: bit depths, compressions, header kinds and row orders. */
export const BMP_VARIANTS: readonly BmpVariant[] = [
  { name: '1-bit', bits: 1, compression: 'none', header: 40 },
  { name: '1-bit-core', bits: 1, compression: 'none', header: 12 },
  { name: '2-bit', bits: 2, compression: 'none', header: 40 },
  { name: '4-bit', bits: 4, compression: 'none', header: 40 },
  { name: '4-bit-top-down', bits: 4, compression: 'none', header: 40, topDown: true },
  { name: '4-bit-rle', bits: 4, compression: 'rle4', header: 40 },
  { name: '4-bit-rle-runs', bits: 4, compression: 'rle4', header: 40, runsOnly: true },
  { name: '8-bit', bits: 8, compression: 'none', header: 40 },
  { name: '8-bit-short-palette', bits: 8, compression: 'none', header: 40, shortPalette: true },
  { name: '8-bit-core', bits: 8, compression: 'none', header: 12 },
  { name: '8-bit-os2v2', bits: 8, compression: 'none', header: 64 },
  { name: '8-bit-v5-top-down', bits: 8, compression: 'none', header: 124, topDown: true },
  { name: '8-bit-rle', bits: 8, compression: 'rle8', header: 40 },
  { name: '8-bit-rle-v4', bits: 8, compression: 'rle8', header: 108 },
  { name: '8-bit-rle-runs', bits: 8, compression: 'rle8', header: 40, runsOnly: true },
  { name: '16-bit-555', bits: 16, compression: 'none', header: 40 },
  { name: '16-bit-565', bits: 16, compression: 'bitfields', header: 40, masks: [0xf800, 0x07e0, 0x001f] },
  { name: '16-bit-555-v5', bits: 16, compression: 'bitfields', header: 124, masks: [0x7c00, 0x03e0, 0x001f, 0] },
  { name: '24-bit', bits: 24, compression: 'none', header: 40 },
  { name: '24-bit-top-down', bits: 24, compression: 'none', header: 40, topDown: true },
  { name: '24-bit-core', bits: 24, compression: 'none', header: 12 },
  { name: '24-bit-v4', bits: 24, compression: 'none', header: 108 },
  { name: '32-bit', bits: 32, compression: 'none', header: 40 },
  { name: '32-bit-bitfields', bits: 32, compression: 'bitfields', header: 40, masks: [0xff0000, 0xff00, 0xff] },
  { name: '32-bit-alpha-v3', bits: 32, compression: 'bitfields', header: 56, masks: [0xff0000, 0xff00, 0xff, 0xff000000] },
  { name: '32-bit-alpha-v5-top-down', bits: 32, compression: 'bitfields', header: 124, masks: [0xff0000, 0xff00, 0xff, 0xff000000], topDown: true },
  { name: '32-bit-alphabitfields', bits: 32, compression: 'alphabitfields', header: 40, masks: [0xff0000, 0xff00, 0xff, 0xff000000] },
];

/** The palette (unique colours, in order of first appearance) and each pixel's index; throws past `max` colours. */
export function paletteOf(pixels: Pixels, max: number): { palette: [number, number, number][]; indices: Uint8Array } {
  const palette: [number, number, number][] = [];
  const seen = new Map<number, number>();
  const indices = new Uint8Array(pixels.width * pixels.height);
  for (let i = 0; i < indices.length; i++) {
    const o = i * pixels.channels;
    const key = (pixels.data[o]! << 16) | (pixels.data[o + 1]! << 8) | pixels.data[o + 2]!;
    let index = seen.get(key);
    if (index === undefined) {
      index = palette.length;
      if (index >= max) throw new Error(`more than ${max} colours`);
      seen.set(key, index);
      palette.push([pixels.data[o]!, pixels.data[o + 1]!, pixels.data[o + 2]!]);
    }
    indices[i] = index;
  }
  return { palette, indices };
}

/** Writes `pixels` as a BMP of the given variant. Palette variants need at most 2^bits colours. */
export function writeBmp(pixels: Pixels, variant: BmpVariant): Buffer {
  const { width, height } = pixels;
  const { bits, header } = variant;
  const core = header === 12;
  const indexed = bits <= 8;
  const { palette, indices } = indexed ? paletteOf(pixels, 1 << bits) : { palette: [], indices: new Uint8Array(0) };
  const paletteEntries = indexed ? (variant.shortPalette ? palette.length : 1 << bits) : 0;
  const entrySize = core ? 3 : 4;
  const masks = variant.masks ?? [];
  const masksAfterHeader = header === 40 && masks.length > 0 ? masks.length * 4 : 0;
  const paletteStart = 14 + header + masksAfterHeader;
  const pixelOffset = paletteStart + paletteEntries * entrySize;

  let pixelData: Buffer;
  if (variant.compression === 'rle8' || variant.compression === 'rle4') {
    pixelData = encodeRle(indices, width, height, variant.compression === 'rle4', variant.runsOnly ?? false);
  } else {
    const rowBytes = Math.ceil((width * bits) / 32) * 4;
    pixelData = Buffer.alloc(rowBytes * height);
    for (let y = 0; y < height; y++) {
      const row = (variant.topDown ? y : height - 1 - y) * rowBytes;
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        const o = i * pixels.channels;
        const [r, g, b] = [pixels.data[o]!, pixels.data[o + 1]!, pixels.data[o + 2]!];
        const a = pixels.channels === 4 ? pixels.data[o + 3]! : 255;
        if (indexed) {
          const perByte = 8 / bits;
          pixelData[row + Math.floor(x / perByte)]! |= indices[i]! << (8 - bits * ((x % perByte) + 1));
        } else if (bits === 24) {
          pixelData.set([b, g, r], row + x * 3);
        } else {
          const fields = masks.length > 0 ? masks : bits === 16 ? [0x7c00, 0x03e0, 0x001f] : [0xff0000, 0xff00, 0xff];
          let value = 0;
          [r, g, b, a].forEach((channel, c) => {
            const mask = fields[c] ?? 0;
            if (mask === 0) return;
            const shift = Math.log2(mask & -mask);
            const max = mask / 2 ** shift;
            value += Math.round((channel * max) / 255) * 2 ** shift;
          });
          if (bits === 16) pixelData.writeUInt16LE(value, row + x * 2);
          else pixelData.writeUInt32LE(value, row + x * 4);
        }
      }
    }
  }

  const out = Buffer.alloc(pixelOffset + pixelData.length);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(pixelOffset, 10);
  out.writeUInt32LE(header, 14);
  if (core) {
    out.writeUInt16LE(width, 18);
    out.writeInt16LE(height, 20);
    out.writeUInt16LE(1, 22);
    out.writeUInt16LE(bits, 24);
  } else {
    out.writeInt32LE(width, 18);
    out.writeInt32LE(variant.topDown ? -height : height, 22);
    out.writeUInt16LE(1, 26);
    out.writeUInt16LE(bits, 28);
    const compression = { none: 0, rle8: 1, rle4: 2, bitfields: 3, alphabitfields: 6 }[variant.compression];
    out.writeUInt32LE(compression, 30);
    out.writeUInt32LE(pixelData.length, 34);
    out.writeInt32LE(2835, 38);
    out.writeInt32LE(2835, 42);
    out.writeUInt32LE(variant.shortPalette ? paletteEntries : 0, 46);
    masks.forEach((mask, i) => out.writeUInt32LE(mask, 54 + i * 4));
    if (header >= 108) out.write('BGRs', 70, 'latin1'); // LCS_sRGB, stored little-endian
  }
  for (let i = 0; i < palette.length; i++) {
    const [r, g, b] = palette[i]!;
    out.set([b, g, r], paletteStart + i * entrySize);
  }
  pixelData.copy(out, pixelOffset);
  return out;
}

/**
 * RLE8 / RLE4 with every code: repeated runs in encoded mode, stretches of differing pixels in absolute mode,
 * runs of index 0 skipped with a delta (or an end-of-line when they finish the row), and an end-of-bitmap code
 * that leaves trailing rows of index 0 out.
 */
function encodeRle(indices: Uint8Array, width: number, height: number, four: boolean, runsOnly: boolean): Buffer {
  const bytes: number[] = [];
  const limit = four ? 254 : 255;
  let lastNonZeroRow = runsOnly ? height - 1 : -1;
  for (let row = 0; row < height; row++) if (indices.subarray((height - 1 - row) * width, (height - row) * width).some(Boolean)) lastNonZeroRow = Math.max(lastNonZeroRow, row);
  for (let row = 0; row <= lastNonZeroRow; row++) {
    const line = indices.subarray((height - 1 - row) * width, (height - row) * width);
    let x = 0;
    while (x < width) {
      let run = 1;
      while (x + run < width && run < limit && line[x + run] === line[x]) run++;
      if (runsOnly) {
        bytes.push(run, four ? (line[x]! << 4) | line[x]! : line[x]!);
        x += run;
        continue;
      }
      if (line[x] === 0 && line.subarray(x).every((v) => v === 0)) break; // end of line below
      if (line[x] === 0 && run >= 4) {
        bytes.push(0, 2, run, 0);
      } else if (run >= 3 || x + run >= width) {
        bytes.push(run, four ? (line[x]! << 4) | line[x]! : line[x]!);
      } else {
        // Absolute mode: up to the next run of three equal pixels.
        let end = x;
        while (end < width && end - x < limit && !(end + 2 < width && line[end] === line[end + 1] && line[end] === line[end + 2])) end++;
        const count = end - x;
        if (count < 3 && four) {
          bytes.push(count, (line[x]! << 4) | (count > 1 ? line[x + 1]! : 0));
        } else if (count < 3) {
          for (let i = 0; i < count; i++) bytes.push(1, line[x + i]!);
        } else {
          bytes.push(0, count);
          const literal: number[] = [];
          for (let i = 0; i < count; i += four ? 2 : 1) {
            literal.push(four ? (line[x + i]! << 4) | (i + 1 < count ? line[x + i + 1]! : 0) : line[x + i]!);
          }
          if (literal.length % 2 === 1) literal.push(0);
          bytes.push(...literal);
        }
        run = count;
      }
      x += run;
    }
    if (row < lastNonZeroRow || runsOnly) bytes.push(0, 0);
  }
  bytes.push(0, 1);
  return Buffer.from(bytes);
}
