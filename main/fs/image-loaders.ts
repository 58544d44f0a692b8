// Only the image loaders Loupe reads stay enabled in libvips. libvips picks a loader by a file's content, not its
// name, so without this an SVG, a PDF or a HEIF file named `.jpg` would reach its (large, native) loader. BMP needs
// none: Loupe decodes it itself (./bmp.ts) and hands sharp raw pixels.
import sharp from 'sharp';

/** libvips loader classes (each with its file, buffer and source subclasses) of JPEG, PNG, WebP, TIFF and GIF. */
export const ALLOWED_LOADERS = [
  'VipsForeignLoadJpeg', 'VipsForeignLoadPng', 'VipsForeignLoadWebp', 'VipsForeignLoadTiff',
  // GIF: libnsgif's loader in sharp's libvips; giflib's where libvips was built with that instead.
  'VipsForeignLoadNsgif', 'VipsForeignLoadGif',
] as const;

let restricted = false;

/**
 * Blocks every libvips loader but those Loupe reads, for the whole process: call it first thing in each process that
 * decodes (the untrusted-files process, the inference workers, main). A refused file fails as libvips says: "Input
 * file contains unsupported image format".
 */
export function restrictImageLoaders(): void {
  if (restricted) return;
  sharp.block({ operation: ['VipsForeignLoad'] });
  sharp.unblock({ operation: [...ALLOWED_LOADERS] });
  restricted = true;
}
