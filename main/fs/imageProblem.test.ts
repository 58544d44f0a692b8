import fc from 'fast-check';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { checkPixelLimit, ImageProblem, imageProblemOf, oneLine, sniffImage } from './imageProblem.js';

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

function problemOf(head: Uint8Array): ImageProblem {
  try {
    sniffImage(head);
  } catch (error) {
    if (error instanceof ImageProblem) return error;
    throw error;
  }
  throw new Error('sniffImage accepted it');
}

describe('sniffImage', () => {
  it('names the format of each one Loupe reads by its first bytes, whatever the file is called', async () => {
    const pixel = sharp({ create: { width: 2, height: 2, channels: 3, background: '#808080' } });
    expect(sniffImage(await pixel.clone().jpeg().toBuffer())).toBe('jpeg');
    expect(sniffImage(await pixel.clone().png().toBuffer())).toBe('png');
    expect(sniffImage(await pixel.clone().webp().toBuffer())).toBe('webp');
    expect(sniffImage(await pixel.clone().gif().toBuffer())).toBe('gif');
    expect(sniffImage(await pixel.clone().tiff().toBuffer())).toBe('tiff');
    expect(sniffImage(bytes('MM', [0, 42]))).toBe('tiff');
    expect(sniffImage(bytes('BM', [0, 0, 0, 0]))).toBe('bmp');
  });

  it('says why it refuses: empty, text or HTML, a format Loupe does not read, or bytes that match none', async () => {
    expect(problemOf(new Uint8Array())).toMatchObject({ kind: 'empty', message: 'empty file (0 bytes)' });
    for (const text of ['<!doctype html><html><body>404</body></html>', 'hello\n', '{"images": []}', 'caf\u00e9 \u2014 \u{1F600}']) {
      expect(problemOf(Buffer.from(text)), text).toMatchObject({ kind: 'not-an-image', message: 'not an image (starts like text/HTML)' });
    }
    const avif = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#808080' } }).avif().toBuffer();
    const unsupported: [string, Uint8Array][] = [
      ['AVIF', avif],
      ['HEIF', bytes([0, 0, 0, 0x18], 'ftypheic', [0, 0, 0, 0], 'mif1heic')],
      ['PDF', bytes('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n')],
      ['SVG', bytes('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')],
      ['JPEG XL', bytes([0xff, 0x0a, 0xfa, 0x7f])],
      ['JPEG 2000', bytes([0, 0, 0, 0x0c], 'jP  ', [0x0d, 0x0a, 0x87, 0x0a])],
      ['Photoshop (PSD)', bytes('8BPS', [0, 1])],
    ];
    for (const [name, head] of unsupported) {
      expect(problemOf(head), name).toMatchObject({
        kind: 'unsupported',
        message: `unsupported format: ${name} (Loupe reads JPEG, PNG, WebP, TIFF, BMP and GIF)`,
      });
    }
    expect(problemOf(bytes([0x00, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef]))).toMatchObject({
      kind: 'not-an-image',
      message: 'not an image (its first bytes match no format Loupe reads: JPEG, PNG, WebP, TIFF, BMP and GIF)',
    });
  });

  it('answers every sequence of bytes with a format or an ImageProblem', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (head) => {
        try {
          expect(['jpeg', 'png', 'webp', 'tiff', 'bmp', 'gif']).toContain(sniffImage(head));
        } catch (error) {
          expect(error).toBeInstanceOf(ImageProblem);
          expect((error as ImageProblem).message).not.toContain('\n');
        }
      }),
    );
  });
});

describe('oneLine and imageProblemOf', () => {
  it("folds libvips' five-line message for a JPEG cut inside its header into one line saying each thing once", async () => {
    const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#336699' } }).jpeg().toBuffer();
    // Cut just before its scan data starts: every table is there, the image is not.
    const error = await sharp(jpeg.subarray(0, jpeg.indexOf(Buffer.from([0xff, 0xda])))).metadata().then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.message.split('\n').length).toBeGreaterThan(2);
    expect(imageProblemOf(error)).toMatchObject({
      kind: 'decode',
      message: 'cannot decode: Input buffer has corrupt header: VipsJpeg: premature end of JPEG image; VipsJpeg: Invalid JPEG file structure: missing SOS marker',
    });
    // Where the format is known, what failed is said in Loupe's words: libvips' text may belong to another file.
    expect(imageProblemOf(error, { format: 'jpeg', part: 'header' })).toMatchObject({
      kind: 'decode',
      message: 'cannot decode: the JPEG header is damaged or cut short',
    });
  });

  it('keeps what it is given as one line: no line breaks, nothing said twice, the same when folded again', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('VipsJpeg: x', 'y:', ' ', '')), { maxLength: 8 }), (lines) => {
        const folded = oneLine(lines.join('\n'));
        expect(folded).not.toMatch(/[\r\n]/);
        expect(oneLine(folded)).toBe(folded);
        for (const line of lines) if (line.trim().replace(/:$/, '').trim() !== '' && !/[\r\n]/.test(line)) expect(folded).toContain(line.trim().replace(/:$/, '').trim());
      }),
    );
    expect(oneLine('Input file has corrupt header:\n')).toBe('Input file has corrupt header');
  });

  it('calls file system errors unreadable and the pixel limit too large', () => {
    const gone = Object.assign(new Error("ENOENT: no such file or directory, open '/x/a.jpg'"), { code: 'ENOENT' });
    expect(imageProblemOf(gone)).toMatchObject({ kind: 'unreadable', message: "cannot read file: ENOENT: no such file or directory, open '/x/a.jpg'" });
    expect(() => checkPixelLimit(20_000, 20_000)).toThrow('image too large: 20000 x 20000 = 400000000 pixels exceeds the limit of 268402689');
    expect(() => checkPixelLimit(16_383, 16_383)).not.toThrow();
  });
});
