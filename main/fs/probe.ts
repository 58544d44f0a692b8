import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import sharp, { type Sharp } from 'sharp';
import type { ImageFile } from '../store/index.js';
import { decodeBmp, readBmpHeader } from './bmp.js';
import type { FoundFile } from './imageFiles.js';

const isBmp = (path: string) => extname(path).toLowerCase() === '.bmp';

/** EXIF orientations 5 to 8 turn the image a quarter, so the displayed width is the stored height. */
export function displayedSize(width: number, height: number, orientation: number): { width: number; height: number } {
  return orientation >= 5 && orientation <= 8 ? { width: height, height: width } : { width, height };
}

/** sha256 of a file's bytes, hex, read as a stream so large files never sit in memory whole. */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), hash);
  return hash.digest('hex');
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
  if (isBmp(path)) {
    const handle = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(1024), 0, 1024, 0);
      const header = readBmpHeader(buffer.subarray(0, bytesRead));
      const { size } = await handle.stat();
      const needed = header.pixelOffset + header.rowBytes * header.height;
      if (size < needed) throw new Error(`BMP pixel data is truncated (${size} bytes, ${needed} needed)`);
      return { width: header.width, height: header.height, orientation: 1 };
    } finally {
      await handle.close();
    }
  }
  const meta = await sharp(path, { pages: 1 }).metadata();
  if (!meta.width || !meta.height) throw new Error(`${meta.format ?? 'image'} without a size`);
  return { width: meta.width, height: meta.pageHeight ?? meta.height, orientation: meta.orientation ?? 1 };
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
export async function openImage(path: string): Promise<Sharp> {
  if (isBmp(path)) {
    const { data, width, height, channels } = decodeBmp(await readFile(path));
    return sharp(data, { raw: { width, height, channels } });
  }
  return sharp(path, { pages: 1 });
}
