// The open project's images as the UI fetches them, for both transports (Electron's loupe-image:// protocol and the
// bridge's /files and /thumbs routes): one confinement check (resolveProjectImage), then the pixels from a renderer
// that decodes them in the untrusted-files process, thumbnails cached per project. A file that crashes that process
// is recorded against its image (status 'error', with the reason) and answered as unreadable.
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Services } from '../services/index.js';
import { UntrustedFileCrashError, UntrustedFileError } from '../untrusted/client.js';
import { resolveProjectImage, UnsafePathError } from './paths.js';
import { ThumbnailCache } from './thumbnails.js';

export { resolveInsideRoot, resolveLexically, resolveProjectImage, UnsafePathError } from './paths.js';

export interface Media {
  readonly body: Buffer;
  readonly type: string;
}

/** What decodes images for display: the untrusted-files process (main/untrusted/client.ts). */
export interface ImageRenderer {
  /** The image as the page must draw it (EXIF orientation applied). */
  display(file: string): Promise<Media>;
  /** Its JPEG thumbnail. */
  thumbnail(file: string): Promise<Buffer>;
}

export type MediaKind = 'files' | 'thumbs';

/** What a transport sends back: the bytes, or an HTTP status with why. */
export type MediaReply =
  | { readonly status: 200; readonly media: Media }
  | { readonly status: 403 | 404 | 422; readonly message: string };

export interface MediaService {
  /** An image of the open project (`files`) or its thumbnail (`thumbs`), named by a URL path still percent-encoded. */
  get(kind: MediaKind, encodedPath: string): Promise<MediaReply>;
}

export interface MediaOptions {
  /** The open project's folder; null while none is open. */
  readonly folder: () => string | null;
  readonly renderer: ImageRenderer;
  /** A file the renderer could not read (its path in the project): `crashed` when it took the decoding process with it. */
  readonly onUnreadable?: (projectPath: string, reason: string, crashed: boolean) => void;
}

export function createMediaService(options: MediaOptions): MediaService {
  let thumbnails: { folder: string; cache: ThumbnailCache } | null = null;
  const thumbnailsOf = (folder: string): ThumbnailCache => {
    if (thumbnails?.folder !== folder) thumbnails = { folder, cache: new ThumbnailCache(folder, (file) => options.renderer.thumbnail(file)) };
    return thumbnails.cache;
  };
  return {
    async get(kind, encodedPath) {
      const folder = options.folder();
      if (folder === null) return { status: 404, message: 'no project is open' };
      let file: string;
      try {
        file = await resolveProjectImage(folder, encodedPath);
      } catch (error) {
        if (error instanceof UnsafePathError) return { status: error.status, message: error.message };
        throw error;
      }
      try {
        if (kind === 'files') return { status: 200, media: await options.renderer.display(file) };
        return { status: 200, media: { body: await thumbnailsOf(folder).get(file), type: 'image/jpeg' } };
      } catch (error) {
        if (!(error instanceof UntrustedFileError)) throw error;
        const projectPath = path.relative(await realpath(folder), file).split(path.sep).join('/');
        options.onUnreadable?.(projectPath, error.reason, error instanceof UntrustedFileCrashError);
        return { status: 422, message: `cannot show this image: ${error.reason}` };
      }
    },
  };
}

/** The media of `services`' open project, decoded in its untrusted-files process, crashes recorded against images. */
export function projectMedia(services: Pick<Services, 'project' | 'images' | 'untrusted'>): MediaService {
  return createMediaService({
    folder: () => services.project.current()?.folder ?? null,
    renderer: services.untrusted,
    onUnreadable: (projectPath, reason, crashed) => {
      if (crashed) services.images.recordUnreadable(projectPath, reason);
    },
  });
}
