import { open, readFile } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';
import type { ImageFile } from '../store/index.js';
import { bmpHeaderLength, decodeBmp, hasBmpSignature, readBmpHeader, type RawImage } from './bmp.js';
import { hashFile } from './hash.js';
import type { FoundFile } from './imageFiles.js';

/**
 * True when the file holds a BMP (by its 'BM' signature, whatever its name), which sharp cannot read: it is
 * decoded by ./bmp.ts instead.
 */
export async function isBmpFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return hasBmpSignature(buffer.subarray(0, bytesRead));
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
  const header = await readHeaderOnly(path);
  // A header can be intact while the pixels after it are cut short; only decoding tells.
  if (verify) await (await openImage(path)).resize(8, 8, { fit: 'inside' }).raw().toBuffer();
  return header;
}

async function readHeaderOnly(path: string): Promise<Header> {
  const bmp = await readBmpFileHeader(path);
  if (bmp) return bmp;
  const meta = await sharp(path, { pages: 1 }).metadata();
  if (!meta.width || !meta.height) throw new Error(`${meta.format ?? 'image'} without a size`);
  return { width: meta.width, height: meta.pageHeight ?? meta.height, orientation: meta.orientation ?? 1 };
}

/** The size of a BMP file from its headers and whole palette; null for a file that is not a BMP. */
async function readBmpFileHeader(path: string): Promise<Header | null> {
  const handle = await open(path, 'r');
  try {
    const start = Buffer.alloc(18);
    const { bytesRead: startRead } = await handle.read(start, 0, start.length, 0);
    if (!hasBmpSignature(start.subarray(0, startRead))) return null;
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
 * Size, EXIF orientation and content hash of one image file. A file the decoder cannot read is still
 * described (hash, size), with `error` holding the decoder's message and a 0x0 size. Only the header is
 * read unless `verify`, which decodes the whole image (about 50 ms for 12 megapixels) to catch truncated files.
 */
export async function probeImage(file: FoundFile, options: { verify?: boolean } = {}): Promise<ImageFile> {
  const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).trim();
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
 * call `.rotate()` on it for the displayed orientation.
 */
export async function openImage(path: string, options: { limitInputPixels?: number | false } = {}): Promise<Sharp> {
  if (await isBmpFile(path)) {
    const { data, width, height, channels } = await readBmpFile(path);
    return sharp(data, { raw: { width, height, channels }, ...options });
  }
  return sharp(path, { pages: 1, ...options });
}
