// sharp (libvips) has no BMP loader, so BMP headers are read and pixels decoded here, for the scan, pre-labeling
// and display alike.
//
// Supported: every header Windows and OS/2 1.x write (12-byte core, 40-byte info and its 52/56/108/124-byte
// successors, OS/2 2.x 16- and 64-byte), 1-, 2-, 4- and 8-bit palettes (palette entries of 3 bytes in core headers,
// 4 otherwise; a palette shorter than declared is read up to the pixel data), 16 bits (5-5-5 by default, any
// bit fields), 24 bits, 32 bits (the fourth byte unused by default, any bit fields, with or without alpha), RLE8 and
// RLE4, top-down and bottom-up rows. Pixels an RLE file skips (delta and early end-of-line codes) take palette
// entry 0, as Pillow does. Refused with the reason: embedded JPEG or PNG (compression 4 and 5), OS/2 Huffman and
// RLE24, 64-bit pixels.

export interface BmpHeader {
  readonly width: number;
  readonly height: number;
  readonly bitsPerPixel: number;
  readonly compression: 'none' | 'rle8' | 'rle4' | 'bitfields';
  readonly topDown: boolean;
  readonly pixelOffset: number;
  /** Bytes per stored row of uncompressed pixels (padded to 4 bytes). */
  readonly rowBytes: number;
  /** Bytes the pixel data must have: every row when uncompressed, at least one end-of-bitmap code for RLE. */
  readonly pixelBytes: number;
  /** Channel bit masks [r, g, b, a] for 16- and 32-bit pixels; a = 0 when there is no alpha. */
  readonly masks: readonly [r: number, g: number, b: number, a: number] | null;
  /** Palette entries as [r, g, b] for 1- to 8-bit pixels. */
  readonly palette: readonly (readonly [r: number, g: number, b: number])[];
}

export interface RawImage {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
}

const BI_RGB = 0;
const BI_RLE8 = 1;
const BI_RLE4 = 2;
const BI_BITFIELDS = 3;
const BI_JPEG = 4;
const BI_PNG = 5;
const BI_ALPHABITFIELDS = 6;

const FILE_HEADER = 14;

/** The largest image decoded (sharp's own default limit, 16383 x 16383): an RLE file can claim any size. */
export const MAX_BMP_PIXELS = 268_402_689;

/** True when the bytes start with the BMP signature ('BM'). */
export function hasBmpSignature(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

/**
 * How many bytes from the start of the file readBmpHeader needs: the headers and the whole palette. Takes the
 * first 18 bytes (file header and the DIB header's size).
 */
export function bmpHeaderLength(start: Buffer): number {
  if (start.length < FILE_HEADER + 4 || !hasBmpSignature(start)) return FILE_HEADER + 4;
  const dibSize = start.readUInt32LE(FILE_HEADER);
  // Header, bit masks after a 40-byte header, and the largest palette (256 entries of 4 bytes).
  return FILE_HEADER + Math.min(dibSize, 1 << 16) + 16 + 256 * 4;
}

/** Reads and checks a BMP header and palette; throws with the reason when the file is not a BMP this module decodes. */
export function readBmpHeader(bytes: Buffer): BmpHeader {
  if (bytes.length < FILE_HEADER + 4 || !hasBmpSignature(bytes)) throw new Error('not a BMP file (no BM signature)');
  const pixelOffset = bytes.readUInt32LE(10);
  const dibSize = bytes.readUInt32LE(FILE_HEADER);
  const core = dibSize === 12;
  const os2v2 = dibSize === 16 || dibSize === 64;
  if (!core && !os2v2 && ![40, 52, 56, 108, 124].includes(dibSize)) {
    throw new Error(`BMP header of ${dibSize} bytes is not a known kind (12, 16, 40, 52, 56, 64, 108 or 124)`);
  }
  if (bytes.length < FILE_HEADER + dibSize) throw new Error(`BMP header is truncated (${bytes.length} bytes)`);
  const width = core ? bytes.readUInt16LE(18) : bytes.readInt32LE(18);
  const rawHeight = core ? bytes.readInt16LE(20) : bytes.readInt32LE(22);
  const bitsPerPixel = bytes.readUInt16LE(core ? 24 : 28);
  const compression = core || dibSize < 20 ? BI_RGB : bytes.readUInt32LE(30);
  if (width <= 0 || rawHeight === 0 || rawHeight === -0x80000000) throw new Error(`BMP has an invalid size ${width}x${rawHeight}`);
  const height = Math.abs(rawHeight);
  if (width * height > MAX_BMP_PIXELS) {
    throw new Error(`BMP of ${width} x ${height} pixels exceeds the pixel limit of ${MAX_BMP_PIXELS}`);
  }

  let kind: BmpHeader['compression'];
  if (os2v2 && (compression === 3 || compression === 4)) {
    throw new Error(`BMP compressed with OS/2 ${compression === 3 ? 'Huffman 1D' : 'RLE24'} (compression ${compression}) is not supported`);
  } else if (compression === BI_JPEG || compression === BI_PNG) {
    throw new Error(`BMP holding an embedded ${compression === BI_JPEG ? 'JPEG' : 'PNG'} (compression ${compression}) is not supported`);
  } else if (compression === BI_RLE8 || compression === BI_RLE4) {
    const bits = compression === BI_RLE8 ? 8 : 4;
    if (bitsPerPixel !== bits) throw new Error(`BMP with RLE${bits} compression must have ${bits} bits per pixel, has ${bitsPerPixel}`);
    kind = bits === 8 ? 'rle8' : 'rle4';
  } else if (compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS) {
    if (bitsPerPixel !== 16 && bitsPerPixel !== 32) {
      throw new Error(`BMP with bit fields must have 16 or 32 bits per pixel, has ${bitsPerPixel}`);
    }
    kind = 'bitfields';
  } else if (compression === BI_RGB) {
    if (![1, 2, 4, 8, 16, 24, 32].includes(bitsPerPixel)) throw new Error(`BMP with ${bitsPerPixel} bits per pixel is not supported`);
    kind = 'none';
  } else {
    throw new Error(`BMP compression ${compression} is not a known kind`);
  }
  if (kind !== 'none' && kind !== 'bitfields' && rawHeight < 0) throw new Error('RLE-compressed BMP cannot be stored top-down');

  // Masks follow a 40-byte header (3, or 4 with alpha); later headers hold them at the same place.
  let masksAfterHeader = 0;
  let masks: BmpHeader['masks'] = null;
  if (kind === 'bitfields') {
    const count = compression === BI_ALPHABITFIELDS || dibSize >= 56 ? 4 : 3;
    if (dibSize === 40) masksAfterHeader = count * 4;
    const at = FILE_HEADER + 40;
    if (bytes.length < at + count * 4) throw new Error('BMP bit masks are truncated');
    const m = [0, 1, 2, 3].map((i) => (i < count ? bytes.readUInt32LE(at + i * 4) : 0));
    masks = [m[0]!, m[1]!, m[2]!, m[3]!];
    const limit = bitsPerPixel === 16 ? 0xffff : 0xffffffff;
    if (masks.some((mask) => mask > limit) || masks.slice(0, 3).some((mask) => mask === 0 || !contiguous(mask))) {
      throw new Error(`BMP bit masks ${masks.map((mask) => `0x${mask.toString(16)}`).join(', ')} are not contiguous fields of ${bitsPerPixel} bits`);
    }
  } else if (bitsPerPixel === 16) {
    masks = [0x7c00, 0x03e0, 0x001f, 0];
  } else if (bitsPerPixel === 32) {
    masks = [0x00ff0000, 0x0000ff00, 0x000000ff, 0];
  }

  const palette: [number, number, number][] = [];
  if (bitsPerPixel <= 8) {
    const entrySize = core ? 3 : 4;
    const declared = core || dibSize < 36 ? 0 : bytes.readUInt32LE(46);
    const start = FILE_HEADER + dibSize + masksAfterHeader;
    // Some writers leave out unused entries without saying so: the palette ends where the pixels begin.
    const room = pixelOffset >= start ? Math.floor((pixelOffset - start) / entrySize) : 0;
    const count = Math.min(declared && declared <= 1 << bitsPerPixel ? declared : 1 << bitsPerPixel, room);
    if (count === 0) throw new Error(`BMP with ${bitsPerPixel} bits per pixel has no palette`);
    if (start + count * entrySize > bytes.length) {
      throw new Error(`BMP palette is truncated (${count} entries from byte ${start}, file has ${bytes.length} bytes)`);
    }
    for (let i = 0; i < count; i++) {
      const o = start + i * entrySize;
      palette.push([bytes[o + 2]!, bytes[o + 1]!, bytes[o]!]);
    }
  }

  const rowBytes = Math.ceil((width * bitsPerPixel) / 32) * 4;
  const pixelBytes = kind === 'rle8' || kind === 'rle4' ? 2 : rowBytes * height;
  return { width, height, bitsPerPixel, compression: kind, topDown: rawHeight < 0, pixelOffset, rowBytes, pixelBytes, masks, palette };
}

/** True when the set bits of a (non-zero) mask form one run. */
function contiguous(mask: number): boolean {
  let m = mask >>> 0;
  while ((m & 1) === 0) m >>>= 1;
  // A run of ones plus one is a power of two, sharing no bit with it.
  return (m & (m + 1)) === 0;
}

/**
 * Decodes a whole BMP file to raw RGB, or RGBA when its bit fields carry alpha (an alpha channel that is 0
 * everywhere is taken as unused, as browsers do), top row first.
 */
export function decodeBmp(bytes: Buffer): RawImage {
  const header = readBmpHeader(bytes);
  const { pixelOffset, pixelBytes } = header;
  if (pixelOffset + pixelBytes > bytes.length) {
    throw new Error(`BMP pixel data is truncated (${bytes.length} bytes, ${pixelOffset + pixelBytes} needed)`);
  }
  if (header.compression === 'rle8' || header.compression === 'rle4') {
    return expandPalette(decodeRle(bytes, header), header);
  }
  if (header.bitsPerPixel <= 8) return expandPalette(unpackIndices(bytes, header), header);
  if (header.bitsPerPixel === 24) return decode24(bytes, header);
  return decodePacked(bytes, header);
}

/** The stored row holding image row y (top row first). */
const rowStart = (header: BmpHeader, y: number) =>
  header.pixelOffset + (header.topDown ? y : header.height - 1 - y) * header.rowBytes;

function unpackIndices(bytes: Buffer, header: BmpHeader): Uint8Array {
  const { width, height, bitsPerPixel: bits } = header;
  const indices = new Uint8Array(width * height);
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  for (let y = 0; y < height; y++) {
    const row = rowStart(header, y);
    const out = y * width;
    if (bits === 8) {
      indices.set(bytes.subarray(row, row + width), out);
      continue;
    }
    for (let x = 0; x < width; x++) {
      const byte = bytes[row + Math.floor(x / perByte)]!;
      indices[out + x] = (byte >> (8 - bits * ((x % perByte) + 1))) & mask;
    }
  }
  return indices;
}

/**
 * RLE8 / RLE4: pairs (count, value) repeat value count times (RLE4 alternates the two nibbles); a 0 count is an
 * escape: 0 end of line, 1 end of bitmap, 2 a move right and up by the next two bytes, n >= 3 n literal indices
 * padded to a 2-byte boundary. Rows are bottom-up.
 */
function decodeRle(bytes: Buffer, header: BmpHeader): Uint8Array {
  const { width, height } = header;
  const four = header.compression === 'rle4';
  const indices = new Uint8Array(width * height);
  let x = 0;
  let row = 0; // stored row: 0 is the bottom of the image
  let p = header.pixelOffset;
  const put = (value: number) => {
    if (x < width && row < height) indices[(height - 1 - row) * width + x] = value;
    x++;
  };
  const end = bytes.length;
  const need = (n: number) => {
    if (p + n > end) throw new Error(`BMP RLE data is truncated at byte ${p}`);
  };
  while (row < height) {
    need(2);
    const count = bytes[p]!;
    const value = bytes[p + 1]!;
    p += 2;
    if (count > 0) {
      for (let i = 0; i < count; i++) put(four ? (i % 2 === 0 ? value >> 4 : value & 0x0f) : value);
    } else if (value === 0) {
      x = 0;
      row++;
    } else if (value === 1) {
      break;
    } else if (value === 2) {
      need(2);
      x += bytes[p]!;
      row += bytes[p + 1]!;
      p += 2;
    } else {
      const length = four ? Math.ceil(value / 2) : value;
      need(length);
      for (let i = 0; i < value; i++) {
        put(four ? (i % 2 === 0 ? bytes[p + (i >> 1)]! >> 4 : bytes[p + (i >> 1)]! & 0x0f) : bytes[p + i]!);
      }
      p += length + (length % 2);
    }
  }
  return indices;
}

function expandPalette(indices: Uint8Array, header: BmpHeader): RawImage {
  const { width, height, palette } = header;
  const lookup = new Uint8Array(256 * 3);
  palette.forEach(([r, g, b], i) => lookup.set([r, g, b], i * 3));
  // Indices past a short palette read as black, as in Pillow.
  const out = Buffer.allocUnsafe(width * height * 3);
  for (let i = 0, o = 0; i < indices.length; i++, o += 3) {
    const l = indices[i]! * 3;
    out[o] = lookup[l]!;
    out[o + 1] = lookup[l + 1]!;
    out[o + 2] = lookup[l + 2]!;
  }
  return { data: out, width, height, channels: 3 };
}

function decode24(bytes: Buffer, header: BmpHeader): RawImage {
  const { width, height } = header;
  const out = Buffer.allocUnsafe(width * height * 3);
  for (let y = 0; y < height; y++) {
    let p = rowStart(header, y);
    let o = y * width * 3;
    for (let x = 0; x < width; x++, p += 3, o += 3) {
      out[o] = bytes[p + 2]!;
      out[o + 1] = bytes[p + 1]!;
      out[o + 2] = bytes[p]!;
    }
  }
  return { data: out, width, height, channels: 3 };
}

/** 16- and 32-bit pixels read through their channel masks. */
function decodePacked(bytes: Buffer, header: BmpHeader): RawImage {
  const { width, height, bitsPerPixel } = header;
  const [r, g, b, a] = header.masks!.map(channelReader) as [ChannelReader, ChannelReader, ChannelReader, ChannelReader | null];
  const channels = a ? 4 : 3;
  const out = Buffer.allocUnsafe(width * height * channels);
  const step = bitsPerPixel / 8;
  let anyAlpha = false;
  for (let y = 0; y < height; y++) {
    let p = rowStart(header, y);
    let o = y * width * channels;
    for (let x = 0; x < width; x++, p += step, o += channels) {
      const value = step === 2 ? bytes[p]! | (bytes[p + 1]! << 8) : bytes.readUInt32LE(p);
      out[o] = r(value);
      out[o + 1] = g(value);
      out[o + 2] = b(value);
      if (a) {
        const alpha = a(value);
        out[o + 3] = alpha;
        if (alpha !== 0) anyAlpha = true;
      }
    }
  }
  if (a && !anyAlpha) for (let i = 3; i < out.length; i += 4) out[i] = 255;
  return { data: out, width, height, channels };
}

type ChannelReader = (value: number) => number;

/** Reads one channel out of a packed pixel by its bit mask, scaled to 0-255; null for a 0 (absent) mask. */
function channelReader(mask: number): ChannelReader | null {
  if (mask === 0) return null;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const max = mask >>> shift;
  if (max === 0xff) return (value) => (value >>> shift) & 0xff;
  const scale = new Uint8Array(max + 1 <= 1 << 16 ? max + 1 : 0);
  if (scale.length > 0) {
    for (let v = 0; v <= max; v++) scale[v] = Math.round((v * 255) / max);
    return (value) => scale[(value & mask) >>> shift]!;
  }
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
