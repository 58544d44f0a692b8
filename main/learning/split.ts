// Which reviewed images train a model and which are held out to score it. An image's side is decided by its content
// hash and a seed, never by which other images are reviewed: an image held out once is held out for every later
// version, so each version is scored on images that no version trained on. Copies of one file fall on the same side.
// About one image in five is held out (the exact share varies with the hashes, as a coin would). So that a small
// project can train at all, each side gets at least one image: with none held out by the rule, the image nearest
// the cut is (and, with all held out, the one farthest from it trains); that exception ends once the rule holds
// an image out.
import { createHash } from 'node:crypto';

export const HELD_OUT_SHARE = 0.2;
export const DEFAULT_SPLIT_SEED = 0;

/** Where the image with this content hash falls, uniformly in [0, 1): below HELD_OUT_SHARE is held out. */
function position(contentHash: string, seed: number): number {
  return createHash('sha256').update(`loupe-split:${seed}:${contentHash}`).digest().readUInt32BE(0) / 2 ** 32;
}

/** True when the rule holds the image with this content hash out under `seed`. */
export function isHeldOut(contentHash: string, seed = DEFAULT_SPLIT_SEED): boolean {
  return position(contentHash, seed) < HELD_OUT_SHARE;
}

/** An image's key for the split: its content hash, or its path when it was never hashed. */
export const splitKey = (image: { readonly hash: string; readonly path: string }): string => image.hash || `path:${image.path}`;

/** The held-out keys among these (the reviewed images' keys), each side non-empty when there are two or more. */
export function heldOutKeys(keys: readonly string[], seed = DEFAULT_SPLIT_SEED): Set<string> {
  const distinct = [...new Set(keys)];
  const held = new Set(distinct.filter((key) => isHeldOut(key, seed)));
  if (distinct.length < 2) return held;
  const byPosition = [...distinct].sort((a, b) => position(a, seed) - position(b, seed));
  if (held.size === 0) held.add(byPosition[0]!);
  if (held.size === distinct.length) held.delete(byPosition.at(-1)!);
  return held;
}
