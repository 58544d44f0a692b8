// Image bytes and thumbnails for the UI, both with EXIF orientation applied, decoded with sharp (BMP with our own
// decoder). These parse untrusted files: they run in the untrusted-files process (./process.ts), never in main.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { imageProblemOf, type ImageFormat } from '../fs/imageProblem.js';
import { openImage, sniffImageFile } from '../fs/probe.js';
import type { ImageRenderer, Media } from '../media/index.js';

export const THUMBNAIL_EDGE = 256;

/** Formats a browser shows as they are, by content (a PNG named .jpg is sent as a PNG); TIFF is converted to PNG. */
const BROWSER_TYPES: Readonly<Partial<Record<ImageFormat, string>>> = {
  jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif',
};

/**
 * The image as the UI must draw it: the file itself when it needs no rotation and the browser reads
 * its format, otherwise re-encoded by sharp with the EXIF orientation applied (and the tag dropped,
 * so the browser does not rotate it a second time). A file that cannot be shown throws its ImageProblem (one line).
 */
export async function imageForDisplay(file: string): Promise<Media> {
  const format = await sniffImageFile(file);
  try {
    // Sent as PNG from Loupe's own decoder (sharp has none), so the page shows the pixels the model saw.
    if (format === 'bmp') return { body: await (await openImage(file)).png().toBuffer(), type: 'image/png' };
    const type = BROWSER_TYPES[format];
    const { orientation = 1 } = await sharp(file).metadata();
    if (type && orientation === 1) return { body: await readFile(file), type };
    const rotated = sharp(file).rotate();
    return format === 'jpeg'
      ? { body: await rotated.jpeg({ quality: 95 }).toBuffer(), type: 'image/jpeg' }
      : { body: await rotated.png().toBuffer(), type: 'image/png' };
  } catch (error) {
    throw imageProblemOf(error, { format, part: 'data' });
  }
}

/** A JPEG thumbnail of `file`, its longest edge THUMBNAIL_EDGE, EXIF orientation applied; an ImageProblem if none. */
export async function thumbnailOf(file: string): Promise<Buffer> {
  const format = await sniffImageFile(file);
  try {
    return await (await openImage(file))
      .rotate()
      .resize(THUMBNAIL_EDGE, THUMBNAIL_EDGE, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#000000' })
      .jpeg({ quality: 80 })
      .toBuffer();
  } catch (error) {
    throw imageProblemOf(error, { format, part: 'data' });
  }
}

/** Decoding in the calling process: what the untrusted-files process runs, and tests of the transports. */
export const localRenderer: ImageRenderer = { display: imageForDisplay, thumbnail: thumbnailOf };
