// Masks as their toggles: the pixel indices (column-major, as COCO RLE counts them) where the value flips, from 0
// at the first pixel. In that form a pixel lookup is a binary search and a boolean combination of two masks is one
// merge of two sorted lists, so hit tests and vertex edits on a 24-megapixel image never expand a mask to pixels.
import { compressCounts, toCounts } from '../../app/geometry/rle.js';
import type { Rle } from '../../app/model/index.js';

const cache = new WeakMap<Rle, readonly number[]>();

/** The indices where the mask's value flips (a pair at the same index cancels). */
export function togglesOf(rle: Rle): readonly number[] {
  let toggles = cache.get(rle);
  if (toggles) return toggles;
  const counts = toCounts(rle);
  const out: number[] = [];
  let pos = 0;
  for (let j = 0; j < counts.length - 1; j++) {
    pos += counts[j]!;
    if (out.length > 0 && out[out.length - 1] === pos) out.pop();
    else out.push(pos);
  }
  cache.set(rle, (toggles = out));
  return toggles;
}

/** The mask of `size` ([height, width]) whose value flips at `toggles`: sorted, distinct, below the pixel count (as togglesOf gives them). */
export function fromToggles(size: readonly [number, number], toggles: readonly number[]): Rle {
  const total = size[0] * size[1];
  const counts: number[] = [];
  let previous = 0;
  for (const at of toggles) {
    counts.push(at - previous);
    previous = at;
  }
  if (previous < total || counts.length === 0) counts.push(total - previous);
  const rle: Rle = { size: [size[0], size[1]], counts: compressCounts(counts) };
  // The next edit of this mask (the next brush stroke) starts from its toggles.
  cache.set(rle, toggles);
  return rle;
}

/** Whether pixel (x, y) is set. */
export function pixelAt(rle: Rle, x: number, y: number): boolean {
  const [h, w] = rle.size;
  if (x < 0 || y < 0 || x >= w || y >= h) return false;
  const k = Math.floor(x) * h + Math.floor(y);
  const toggles = togglesOf(rle);
  // How many flips happen at or before k: an odd number means set.
  let low = 0;
  let high = toggles.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (toggles[mid]! <= k) low = mid + 1;
    else high = mid;
  }
  return low % 2 === 1;
}

/** The mask whose pixel is op(a's pixel, b's pixel) everywhere; a and b have the same size. */
export function combine(a: Rle, b: Rle, op: (a: boolean, b: boolean) => boolean): Rle {
  const ta = togglesOf(a);
  const tb = togglesOf(b);
  const out: number[] = [];
  let va = false;
  let vb = false;
  let value = op(false, false);
  if (value) out.push(0);
  for (let i = 0, k = 0; i < ta.length || k < tb.length; ) {
    const at = Math.min(ta[i] ?? Infinity, tb[k] ?? Infinity);
    for (; ta[i] === at; i++) va = !va;
    for (; tb[k] === at; k++) vb = !vb;
    const next = op(va, vb);
    if (next === value) continue;
    value = next;
    if (out.length > 0 && out[out.length - 1] === at) out.pop();
    else out.push(at);
  }
  return fromToggles([a.size[0], a.size[1]], out);
}
