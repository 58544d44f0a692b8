// Decoded images, a few at a time: the current one, the next one (prefetched) and the last few visited,
// so stepping forward or back does not wait for the network and the JPEG decoder.
import type { ImageId, ImageRecord } from '../../app/model/index.js';

const KEEP = 6;

export class PictureCache {
  private readonly entries = new Map<ImageId, { key: string; picture: Promise<HTMLImageElement> }>();

  constructor(private readonly urlOf: (image: ImageRecord) => string) {}

  /** The decoded picture; a changed file (new hash) is fetched again. */
  get(image: ImageRecord): Promise<HTMLImageElement> {
    const key = `${image.path}|${image.hash}`;
    const cached = this.entries.get(image.id);
    if (cached?.key === key) {
      // Most recently used last.
      this.entries.delete(image.id);
      this.entries.set(image.id, cached);
      return cached.picture;
    }
    const element = new Image();
    element.src = this.urlOf(image);
    const picture = element.decode().then(() => element);
    picture.catch(() => this.entries.delete(image.id));
    this.entries.set(image.id, { key, picture });
    while (this.entries.size > KEEP) this.entries.delete(this.entries.keys().next().value!);
    return picture;
  }
}
