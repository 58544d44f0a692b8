import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasHoles, polygonsToRle } from '../geometry/polygon.js';
import { decode, encode, iou } from '../geometry/rle.js';
import {
  describeProblems,
  joinRelative,
  maskOutlines,
  relativePath,
  round2,
  validationSplit,
  withoutExtension,
} from './common.js';

const mask = (width: number, height: number, rows: string[]) => {
  const data = new Uint8Array(width * height);
  rows.forEach((row, y) => [...row].forEach((c, x) => (data[y * width + x] = c === '#' ? 1 : 0)));
  return { width, height, data };
};

describe('holes', () => {
  it('finds background the mask encloses, also against the image border; diagonal gaps do not let it out', () => {
    expect(hasHoles(mask(5, 5, ['.....', '.###.', '.#.#.', '.###.', '.....']))).toBe(true);
    expect(hasHoles(mask(3, 3, ['###', '#.#', '###']))).toBe(true);
    expect(hasHoles(mask(5, 5, ['.....', '.##..', '.#.#.', '..##.', '.....']))).toBe(true);
    expect(hasHoles(mask(5, 5, ['.....', '.###.', '.#...', '.###.', '.....']))).toBe(false);
    expect(hasHoles(mask(3, 3, ['...', '...', '...']))).toBe(false);
    expect(hasHoles(mask(4, 3, ['#..#', '.##.', '#..#']))).toBe(false);
  });

  it('polygon outputs fill holes and say so; the outline keeps IoU >= 0.95 with the filled mask', () => {
    // A ring (the example): its polygon is the disc.
    const outer = polygonsToRle([[10, 10, 50, 10, 50, 50, 10, 50]], 60, 60);
    const bits = decode(outer);
    for (let y = 20; y < 40; y++) for (let x = 20; x < 40; x++) bits.data[y * 60 + x] = 0;
    const ring = encode(bits);
    const outlines = maskOutlines(ring);
    expect(outlines).toMatchObject({ hadHoles: true, parts: 1 });
    expect(iou(polygonsToRle(outlines.polygons, 60, 60), outer)).toBeGreaterThanOrEqual(0.95);
    expect(maskOutlines(outer).hadHoles).toBe(false);
  });
});

describe('numbers and paths', () => {
  it('rounds to 2 decimals without float noise or -0', () => {
    expect(round2(233.75000000000006)).toBe(233.75);
    expect(JSON.stringify([round2(0.1 + 0.2), round2(-0.001), round2(1 / 3)])).toBe('[0.3,0,0.33]');
  });

  it('joins, normalises and relates the relative paths files hold', () => {
    expect(joinRelative('a/b', '../c/./d.jpg')).toBe('a/c/d.jpg');
    expect(joinRelative('', 'x\\y.png')).toBe('x/y.png');
    expect(joinRelative('a', '../../x.png')).toBeNull();
    expect(relativePath('labels/a', 'photos/a/x.jpg')).toBe('../../photos/a/x.jpg');
    expect(relativePath('photos', 'photos/x.jpg')).toBe('x.jpg');
    expect(relativePath('', 'x.jpg')).toBe('x.jpg');
    expect(withoutExtension('a.b/c.d.jpg')).toBe('a.b/c.d');
    expect(withoutExtension('a.b/.hidden')).toBe('a.b/.hidden');
  });

  it('names the first 20 problems and counts the rest, on one line', () => {
    expect(describeProblems([{ where: 'a.json', reason: 'bad' }])).toBe('a.json: bad');
    const many = Array.from({ length: 23 }, (_, i) => ({ where: `f${i}`, reason: 'r' }));
    const text = describeProblems(many);
    expect(text.startsWith('23 problems: f0: r; f1: r;')).toBe(true);
    expect(text.endsWith('f19: r; and 3 more')).toBe(true);
    expect(text).not.toContain('f20');
  });
});

describe('validation split', () => {
  const keys = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 0, maxLength: 60 });

  it('is deterministic for a seed, takes round(n x fraction) keys (at least 1, never all), and does not depend on order', () => {
    fc.assert(
      fc.property(keys, fc.double({ min: 0, max: 1, noNaN: true }), fc.integer(), (list, fraction, seed) => {
        const split = validationSplit(list, fraction, seed);
        expect(validationSplit([...list].reverse(), fraction, seed)).toEqual(split);
        for (const key of split) expect(list).toContain(key);
        let expected = Math.round(list.length * fraction);
        if (fraction > 0 && list.length >= 2) expected = Math.min(Math.max(expected, 1), list.length - 1);
        expect(split.size).toBe(expected);
      }),
    );
  });

  it('moves few images when one is added, and differs between seeds', () => {
    const paths = Array.from({ length: 200 }, (_, i) => `img-${i}.jpg`);
    const before = validationSplit(paths, 0.2, 1);
    const after = validationSplit([...paths, 'new.jpg'], 0.2, 1);
    expect([...before].filter((p) => !after.has(p)).length).toBeLessThanOrEqual(1);
    expect(validationSplit(paths, 0.2, 2)).not.toEqual(before);
    expect(() => validationSplit(paths, 1.5, 0)).toThrow('between 0 and 1');
  });
});
