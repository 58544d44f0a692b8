// Which reviewed images train a model and which are held out to score it. An image's side is decided by its content
// hash and a seed alone, never by which other images are reviewed: an image held out once is held out for every
// later version, so each version is scored on images that no version trained on. Copies of one file fall on the
// same side. About one image in five is held out (the exact share varies with the hash, as a coin would).
import { createHash } from 'node:crypto';

export const HELD_OUT_SHARE = 0.2;
export const DEFAULT_SPLIT_SEED = 0;

/** True when the image with this content hash is held out under `seed`. */
export function isHeldOut(contentHash: string, seed = DEFAULT_SPLIT_SEED): boolean {
  const digest = createHash('sha256').update(`loupe-split:${seed}:${contentHash}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32 < HELD_OUT_SHARE;
}

/** An image's key for the split: its content hash, or its path when it was never hashed. */
export const splitKey = (image: { readonly hash: string; readonly path: string }): string => image.hash || `path:${image.path}`;
