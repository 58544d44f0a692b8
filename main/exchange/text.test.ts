import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { invalidUtf8Offset, NotUtf8Error, readUtf8 } from './text.js';

describe('strict UTF-8 text', () => {
  it('finds a bad byte exactly when a strict decoder refuses the bytes, and only then', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    const accepts = (bytes: Uint8Array) => {
      try {
        strict.decode(bytes);
        return true;
      } catch {
        return false;
      }
    };
    const text = fc.string({ unit: 'binary' }).map((s) => new TextEncoder().encode(s));
    const noise = fc.uint8Array({ maxLength: 12 });
    fc.assert(
      fc.property(fc.tuple(text, noise, text), ([a, b, c]) => {
        const bytes = Uint8Array.from([...a, ...b, ...c]);
        const offset = invalidUtf8Offset(bytes);
        expect(offset === -1).toBe(accepts(bytes));
        if (offset >= 0) expect(accepts(bytes.subarray(0, offset))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads UTF-8 without its byte-order mark and names the first byte that is not UTF-8', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loupe-text-'));
    try {
      writeFileSync(join(dir, 'ok.txt'), Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from('thé')]));
      expect(await readUtf8(join(dir, 'ok.txt'))).toBe('thé');
      writeFileSync(join(dir, 'latin1.txt'), Buffer.from('{"label": "th\xe9ing"}', 'latin1'));
      const error = await readUtf8(join(dir, 'latin1.txt')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotUtf8Error);
      expect((error as Error).message).toBe('is not UTF-8 text (byte 13 does not belong to a UTF-8 sequence)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
