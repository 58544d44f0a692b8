import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { encodeBmp } from './bmp.js';

type Format = 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif' | 'bmp';

const formatOf = (path: string): Format => {
  const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  const format = ({ jpg: 'jpeg', jpeg: 'jpeg', tif: 'tiff', tiff: 'tiff' } as Record<string, Format>)[ext] ?? (ext as Format);
  if (!['jpeg', 'png', 'webp', 'tiff', 'gif', 'bmp'].includes(format)) throw new Error(`no writer for ${path}`);
  return format;
};

/**
 * Writes a real image file of the format its extension names (for tests and benchmarks): a plain colour
 * with a lighter square, `width` x `height` as stored, optionally with an EXIF orientation.
 */
export async function writeImage(
  folder: string,
  path: string,
  options: { width?: number; height?: number; orientation?: number; seed?: number } = {},
): Promise<string> {
  const { width = 40, height = 30, orientation, seed = 0 } = options;
  const target = join(folder, path);
  mkdirSync(dirname(target), { recursive: true });
  const colour = { r: (seed * 53) % 256, g: (seed * 97 + 80) % 256, b: (seed * 31 + 160) % 256 };
  const square = await sharp({ create: { width: Math.ceil(width / 3), height: Math.ceil(height / 3), channels: 3, background: '#ffffff' } })
    .png()
    .toBuffer();
  const composed = await sharp({ create: { width, height, channels: 3, background: colour } })
    .composite([{ input: square, left: seed % Math.max(1, width - Math.ceil(width / 3)), top: 1 }])
    .raw()
    .toBuffer({ resolveWithObject: true });
  const rgb = await sharp(composed.data, { raw: { width, height, channels: composed.info.channels } })
    .removeAlpha()
    .raw()
    .toBuffer();
  const format = formatOf(path);
  if (format === 'bmp') {
    writeFileSync(target, encodeBmp({ data: rgb, width, height }));
    return target;
  }
  let image = sharp(rgb, { raw: { width, height, channels: 3 } });
  if (orientation !== undefined) image = image.withMetadata({ orientation });
  await image.toFormat(format).toFile(target);
  return target;
}
