// The open project's images as the UI fetches them, for both transports (Electron's loupe-image:// protocol and the
// bridge's /files and /thumbs routes): one confinement check (resolveProjectImage), then the pixels from a renderer
// that decodes them in the untrusted-files process, thumbnails cached per project.
import { resolveProjectImage } from './paths.js';
import { ThumbnailCache } from './thumbnails.js';

export { resolveInsideRoot, resolveLexically, resolveProjectImage, UnsafePathError } from './paths.js';

export interface Media {
  readonly body: Buffer;
  readonly type: string;
}

/** What decodes images for display: in the untrusted-files process (main/untrusted). */
export interface ImageRenderer {
  /** The image as the page must draw it (EXIF orientation applied). */
  display(file: string): Promise<Media>;
  /** Its JPEG thumbnail. */
  thumbnail(file: string): Promise<Buffer>;
}

export type MediaKind = 'files' | 'thumbs';

export interface MediaService {
  /**
   * An image of the open project (`files`) or its thumbnail (`thumbs`), named by a URL path still percent-encoded;
   * an UnsafePathError (403 or 404) for anything else, null while no project is open.
   */
  get(kind: MediaKind, encodedPath: string): Promise<Media | null>;
}

export function createMediaService(options: { readonly folder: () => string | null; readonly renderer: ImageRenderer }): MediaService {
  let thumbnails: { folder: string; cache: ThumbnailCache } | null = null;
  const thumbnailsOf = (folder: string): ThumbnailCache => {
    if (thumbnails?.folder !== folder) thumbnails = { folder, cache: new ThumbnailCache(folder, (file) => options.renderer.thumbnail(file)) };
    return thumbnails.cache;
  };
  return {
    async get(kind, encodedPath) {
      const folder = options.folder();
      if (folder === null) return null;
      const file = await resolveProjectImage(folder, encodedPath);
      if (kind === 'files') return options.renderer.display(file);
      return { body: await thumbnailsOf(folder).get(file), type: 'image/jpeg' };
    },
  };
}
