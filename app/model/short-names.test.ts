import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SHORT_NAME_MAX, shortModelNames } from './short-names.js';

describe('short model names', () => {
  it('tells the shipped models apart by the fewest trailing words', () => {
    expect(shortModelNames([{ name: 'loupe-shapes' }, { name: 'loupe-shapes-zoo' }, { name: 'loupe-shapes-boxes' }])).toEqual(['shapes', 'zoo', 'boxes']);
    expect(shortModelNames([{ name: 'loupe-shapes' }])).toEqual(['shapes']);
    expect(shortModelNames([{ name: 'maskrcnn_r50_v1' }, { name: 'maskrcnn_r101_v1' }])).toEqual(['r50-v1', 'r101-v1']);
  });

  it('uses a card\'s short_name, and cuts long names', () => {
    expect(shortModelNames([{ name: 'whatever', shortName: 'mine' }, { name: 'a-very-long-singlewordmodelname' }])).toEqual(['mine', 'singlewordmodel…']);
  });

  it('gives distinct names to distinct model names that fit (property)', () => {
    const word = fc.stringMatching(/^[a-z]{1,4}$/);
    const name = fc.array(word, { minLength: 1, maxLength: 3 }).map((w) => w.join('-'));
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 5 }), (names) => {
        const short = shortModelNames(names.map((n) => ({ name: n })));
        for (const s of short) expect(s.length).toBeLessThanOrEqual(SHORT_NAME_MAX);
        // Distinct unless one name is a word-suffix of another (then the whole name is used).
        expect(new Set(short).size).toBe(short.length);
      }),
    );
  });
});
