import { open, readFile } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';
import type { ImageFile } from '../store/index.js';
import { bmpHeaderLength, decodeBmp, readBmpHeader, type RawImage } from './bmp.js';
import { hashFile } from './hash.js';
import type { FoundFile } from './imageFiles.js';
import { checkPixelLimit, imageProblemOf, SNIFF_BYTES, sniffImage, type ImageFormat } from './imageProblem.js';

/** The format a file's first bytes announce; throws an ImageProblem (empty, text, unsupported, unknown) otherwise. */
export async function sniffImageFile(path: string): Promise<ImageFormat> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(SNIFF_BYTES), 0, SNIFF_BYTES, 0);
    return sniffImage(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** Decodes a BMP file to raw pixels (see ./bmp.ts). */
export async function readBmpFile(path: string): Promise<RawImage> {
  return decodeBmp(await readFile(path));
}

/** EXIF orientations 5 to 8 turn the image a quarter, so the displayed width is the stored height. */
export function displayedSize(width: number, height: number, orientation: number): { width: number; height: number } {
  return orientation >= 5 && orientation <= 8 ? { width: height, height: width } : { width, height };
}

interface Header {
  width: number;
  height: number;
  orientation: number;
}

async function readHeader(path: string, verify: boolean): Promise<Header> {
  // Only the formats Loupe reads reach a decoder, and an image too large to decode is refused from its header.
  const format = await sniffImageFile(path);
  const header = format === 'bmp' ? await readBmpFileHeader(path) : await readSharpHeader(path, format);
  checkPixelLimit(header.width, header.height);
  // A header can be intact while the pixels after it are cut short; only decoding tells.
  if (verify) {
    const image = await openImage(path);
    await image.resize(8, 8, { fit: 'inside' }).raw().toBuffer().catch((error: unknown) => {
      throw imageProblemOf(error, { format, part: 'data' });
    });
  }
  return header;
}

async function readSharpHeader(path: string, format: ImageFormat): Promise<Header> {
  // Reading the header decodes no pixels; the limit is checked by the caller, with the size in its message.
  const meta = await sharp(path, { pages: 1, limitInputPixels: false }).metadata().catch((error: unknown) => {
    throw imageProblemOf(error, { format, part: 'header' });
  });
  if (!meta.width || !meta.height) throw new Error(`${meta.format ?? 'image'} without a size`);
  return { width: meta.width, height: meta.pageHeight ?? meta.height, orientation: meta.orientation ?? 1 };
}

/** The size of a BMP file from its headers and whole palette. */
async function readBmpFileHeader(path: string): Promise<Header> {
  const handle = await open(path, 'r');
  try {
    const start = Buffer.alloc(18);
    const { bytesRead: startRead } = await handle.read(start, 0, start.length, 0);
    const length = bmpHeaderLength(start.subarray(0, startRead));
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, 0);
    const header = readBmpHeader(buffer.subarray(0, bytesRead));
    const { size } = await handle.stat();
    const needed = header.pixelOffset + header.pixelBytes;
    if (size < needed) throw new Error(`BMP pixel data is truncated (${size} bytes, ${needed} needed)`);
    return { width: header.width, height: header.height, orientation: 1 };
  } finally {
    await handle.close();
  }
}

/**
 * Size, EXIF orientation and content hash of one image file. A file that cannot be used is still described
 * (hash, size), with `error` holding why on one line (see ./imageProblem.ts) and a 0x0 size. Only the header is
 * read unless `verify`, which decodes the whole image (about 50 ms for 12 megapixels) to catch truncated files.
 */
export async function probeImage(file: FoundFile, options: { verify?: boolean } = {}): Promise<ImageFile> {
  const messageOf = (error: unknown) => imageProblemOf(error).message;
  const [hash, header] = await Promise.all([
    // A file that cannot even be read (gone since the listing, no permission) is recorded, not fatal.
    hashFile(file.absolutePath).catch((error: unknown) => ({ unreadable: messageOf(error) })),
    readHeader(file.absolutePath, options.verify ?? false).then(
      (h) => ({ ok: true as const, ...h }),
      (error: unknown) => ({ ok: false as const, message: messageOf(error) }),
    ),
  ]);
  const base = { path: file.path, size: file.size, mtimeMs: file.mtimeMs, width: 0, height: 0, orientation: 1 };
  if (typeof hash !== 'string') return { ...base, hash: '', error: hash.unreadable || 'unreadable file' };
  if (!header.ok) return { ...base, hash, error: header.message || 'unreadable image' };
  const orientation = header.orientation >= 1 && header.orientation <= 8 ? header.orientation : 1;
  return { ...base, hash, ...displayedSize(header.width, header.height, orientation), orientation, error: null };
}

/**
 * A sharp pipeline for any image the scan accepts (BMP included), first frame only, not yet rotated:
 * call `.rotate()` on it for the displayed orientation. A file in no format Loupe reads is refused (ImageProblem).
 */
export async function openImage(path: string, options: { limitInputPixels?: number | false } = {}): Promise<Sharp> {
  if ((await sniffImageFile(path)) === 'bmp') {
    const { data, width, height, channels } = await readBmpFile(path);
    return sharp(data, { raw: { width, height, channels }, ...options });
  }
  return sharp(path, { pages: 1, ...options });
}
