import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HELD_OUT_SHARE, heldOutKeys, isHeldOut, splitKey } from './split.js';

const hashes = Array.from({ length: 5000 }, (_, i) => createHash('sha256').update(`image ${i}`).digest('hex'));

describe('the held-out split', () => {
  it('holds out about one image in five', () => {
    const share = hashes.filter((h) => isHeldOut(h)).length / hashes.length;
    // 5000 draws: the standard deviation of the share is 0.0057.
    expect(share).toBeGreaterThan(HELD_OUT_SHARE - 0.03);
    expect(share).toBeLessThan(HELD_OUT_SHARE + 0.03);
  });

  it('decides by the content hash and the seed alone: the same on every call, another set under another seed', () => {
    const first = hashes.map((h) => isHeldOut(h));
    expect(hashes.map((h) => isHeldOut(h))).toEqual(first);
    expect(hashes.map((h) => isHeldOut(h, 7))).not.toEqual(first);
    expect(hashes.slice(100, 200).map((h) => isHeldOut(h))).toEqual(first.slice(100, 200));
  });

  it('holds out what the rule holds out, and, while it holds out none (or all), the image nearest the cut so each side has one', () => {
    const held = hashes.slice(0, 100).filter((h) => isHeldOut(h));
    expect(heldOutKeys(hashes.slice(0, 100))).toEqual(new Set(held));
    const trained = hashes.filter((h) => !isHeldOut(h));
    const few = trained.slice(0, 4);
    const chosen = heldOutKeys(few);
    expect(chosen.size).toBe(1);
    // The first image the rule holds out replaces it.
    expect(heldOutKeys([...few, held[0]!])).toEqual(new Set([held[0]]));
    const allHeld = held.slice(0, 3);
    expect(heldOutKeys(allHeld).size).toBe(2);
    expect(heldOutKeys(allHeld.slice(0, 1))).toEqual(new Set(allHeld.slice(0, 1)));
    expect(heldOutKeys([few[0]!])).toEqual(new Set());
  });

  it('keys an image by its content, or by its path when it was never hashed', () => {
    expect(splitKey({ hash: 'abc', path: 'x.jpg' })).toBe('abc');
    expect(splitKey({ hash: '', path: 'x.jpg' })).toBe('path:x.jpg');
  });
});
