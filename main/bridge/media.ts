// Image bytes and thumbnails for the UI, both with EXIF orientation applied. Thumbnails are made
// once with sharp and cached on disk under <project>/.loupe/thumbs.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { browserType } from '../fs/imageFiles.js';
import { isBmpFile, openImage } from '../fs/probe.js';

export const THUMBNAIL_EDGE = 256;

export interface Media {
  readonly body: Buffer;
  readonly type: string;
}

/**
 * The image as the UI must draw it: the file itself when it needs no rotation and the browser reads
 * its format, otherwise re-encoded by sharp with the EXIF orientation applied (and the tag dropped,
 * so the browser does not rotate it a second time).
 */
export async function imageForDisplay(file: string): Promise<Media> {
  const ext = path.extname(file).toLowerCase();
  // Sent as PNG from Loupe's own decoder (sharp has none), so the page shows the pixels the model saw.
  if (await isBmpFile(file)) return { body: await (await openImage(file)).png().toBuffer(), type: 'image/png' };
  const type = browserType(file);
  const { orientation = 1 } = await sharp(file).metadata();
  if (type && orientation === 1) return { body: await readFile(file), type };
  const rotated = sharp(file).rotate();
  return ext === '.jpg' || ext === '.jpeg'
    ? { body: await rotated.jpeg({ quality: 95 }).toBuffer(), type: 'image/jpeg' }
    : { body: await rotated.png().toBuffer(), type: 'image/png' };
}

/** Thumbnails of one project folder, cached by file identity (path, size, mtime). */
export class ThumbnailCache {
  private readonly pending = new Map<string, Promise<Buffer>>();
  readonly dir: string;

  constructor(projectFolder: string) {
    this.dir = path.join(projectFolder, '.loupe', 'thumbs');
  }

  /** JPEG thumbnail (longest edge THUMBNAIL_EDGE) of `file`, an already-confined real path. */
  async get(file: string): Promise<Media> {
    const info = await stat(file);
    const key = createHash('sha256').update(`${file}\0${info.size}\0${info.mtimeMs}`).digest('hex').slice(0, 32);
    let job = this.pending.get(key);
    if (!job) {
      job = this.readOrMake(key, file).finally(() => this.pending.delete(key));
      this.pending.set(key, job);
    }
    return { body: await job, type: 'image/jpeg' };
  }

  private async readOrMake(key: string, file: string): Promise<Buffer> {
    const cached = path.join(this.dir, `${key}.jpg`);
    try {
      return await readFile(cached);
    } catch {
      const body = await (await openImage(file))
        .rotate()
        .resize(THUMBNAIL_EDGE, THUMBNAIL_EDGE, { fit: 'inside', withoutEnlargement: true })
        .flatten({ background: '#000000' })
        .jpeg({ quality: 80 })
        .toBuffer();
      await mkdir(this.dir, { recursive: true });
      const temp = `${cached}.${process.pid}.tmp`;
      await writeFile(temp, body);
      await rename(temp, cached);
      return body;
    }
  }
}
