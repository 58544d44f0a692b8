import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { imageForDisplay, thumbnailOf } from '../untrusted/images.js';
import { ThumbnailCache } from '../media/thumbnails.js';
import { bmpHeaderLength, decodeBmp, encodeBmp, readBmpHeader } from './bmp.js';
import { BMP_VARIANTS, writeBmp, type BmpVariant, type Pixels } from './bmp.test-support.js';
import { openImage, probeImage } from './probe.js';

const work = mkdtempSync(join(tmpdir(), 'loupe-bmp-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const WIDTH = 37; // odd, so rows need padding at every bit depth
const HEIGHT = 23;

/** Test pixels a variant can hold exactly: few colours (in runs and in alternation) for palettes, gradients otherwise. */
function pixelsFor(variant: BmpVariant): Pixels {
  const alpha = variant.masks?.[3] ? 4 : 3;
  const data = new Uint8Array(WIDTH * HEIGHT * alpha);
  const colours = variant.bits <= 8 ? Math.min(1 << variant.bits, 12) : 0;
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const o = (y * WIDTH + x) * alpha;
      if (colours > 0) {
        // Long runs (a block and a blank band) and single pixels that alternate, for every RLE code.
        const index = y < 4 ? 0 : x > 20 && y < 15 ? 1 % colours : x < 6 ? (x + y) % colours : Math.floor(x / 3) % colours;
        data.set([(index * 67) % 256, (index * 151 + 40) % 256, (index * 29 + 200) % 256], o);
      } else {
        data.set([(x * 7) % 256, (y * 11) % 256, ((x + y) * 5) % 256], o);
      }
      if (alpha === 4) data[o + 3] = (x * 13 + y) % 256;
    }
  }
  return { width: WIDTH, height: HEIGHT, data, channels: alpha };
}

function pillowAvailable(): string | null {
  if (!existsSync('/usr/bin/python3')) return 'no /usr/bin/python3';
  const run = spawnSync('/usr/bin/python3', ['-c', 'import PIL'], { encoding: 'utf8' });
  return run.status === 0 ? null : `Pillow is not installed for /usr/bin/python3: ${run.stderr.trim().split('\n').at(-1)}`;
}

/** Each file as Pillow decodes it (RGB, or RGBA for images with alpha): an independent decoder to compare with. */
function decodeWithPillow(files: readonly string[]): Map<string, { mode: string; data: Buffer } | { error: string }> {
  const script = [
    'import sys, json',
    'from PIL import Image',
    'out = {}',
    'for f in sys.argv[1:]:',
    '    try:',
    '        im = Image.open(f); im.load()',
    '    except (OSError, ValueError) as e:',
    "        out[f] = {'error': str(e)}; continue",
    "    im = im.convert('RGBA' if im.mode in ('RGBA', 'LA', 'PA') else 'RGB')",
    "    open(f + '.raw', 'wb').write(im.tobytes()); out[f] = {'mode': im.mode}",
    'print(json.dumps(out))',
  ].join('\n');
  const run = spawnSync('/usr/bin/python3', ['-c', script, ...files], { encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`Pillow failed: ${run.stderr}`);
  const results = JSON.parse(run.stdout) as Record<string, { mode?: string; error?: string }>;
  return new Map(
    files.map((f) => {
      const { mode, error } = results[f]!;
      return [f, error !== undefined ? { error } : { mode: mode!, data: readFileSync(`${f}.raw`) }];
    }),
  );
}

describe('BMP decoding of every variant', () => {
  const files = BMP_VARIANTS.map((variant) => {
    const pixels = pixelsFor(variant);
    const file = join(work, `${variant.name}.bmp`);
    writeFileSync(file, writeBmp(pixels, variant));
    return { variant, pixels, file };
  });

  it.each(files)('$variant.name: decodes to the pixels written (within 5-bit and 6-bit quantisation)', ({ variant, pixels, file }) => {
    const decoded = decodeBmp(readFileSync(file));
    expect({ width: decoded.width, height: decoded.height, channels: decoded.channels }).toEqual({ width: WIDTH, height: HEIGHT, channels: pixels.channels });
    const tolerance = variant.bits === 16 ? Math.ceil(255 / 31 / 2) : 0;
    let worst = 0;
    for (let i = 0; i < pixels.data.length; i++) worst = Math.max(worst, Math.abs(decoded.data[i]! - pixels.data[i]!));
    expect(worst).toBeLessThanOrEqual(tolerance);
  });

  const noPillow = pillowAvailable();
  it.skipIf(noPillow !== null)(`agrees with Pillow on every variant${noPillow ? ` (skipped: ${noPillow})` : ''}`, () => {
    const pillow = decodeWithPillow(files.map((f) => f.file));
    // What Pillow (9.4) cannot read is checked against the pixels written only: 2 bits (a Windows CE depth), the
    // 56-byte V3 header and BI_ALPHABITFIELDS (alpha is checked in the V5 file), and RLE that uses every code: its
    // reader takes 4 bytes for a delta's 2, drops the last pixel of an odd RLE4 literal and refuses rows left out
    // by an early end-of-bitmap. The runs-only RLE files are compared with Pillow.
    const unread = files.filter((f) => 'error' in pillow.get(f.file)!).map((f) => f.variant.name);
    expect(unread).toEqual(['2-bit', '4-bit-rle', '8-bit-rle', '8-bit-rle-v4', '32-bit-alpha-v3', '32-bit-alphabitfields']);
    for (const { variant, file } of files) {
      const ours = decodeBmp(readFileSync(file));
      const theirs = pillow.get(file)!;
      if ('error' in theirs || (variant.compression.startsWith('rle') && !variant.runsOnly)) continue;
      expect(theirs.mode, variant.name).toBe(ours.channels === 4 ? 'RGBA' : 'RGB');
      // Pillow scales 5- and 6-bit channels by truncating (v * 255 / 31); we round, so those may differ by one.
      const tolerance = variant.bits === 16 ? 1 : 0;
      let worst = 0;
      for (let i = 0; i < ours.data.length; i++) worst = Math.max(worst, Math.abs(ours.data[i]! - theirs.data[i]!));
      expect(worst, variant.name).toBeLessThanOrEqual(tolerance);
    }
  });

  it.each(files)('$variant.name: the scan probes its size from the headers and whole palette', async ({ file }) => {
    const info = await probeImage({ path: 'x.bmp', absolutePath: file, size: 0, mtimeMs: 0 }, { verify: true });
    expect(info).toMatchObject({ width: WIDTH, height: HEIGHT, orientation: 1, error: null });
  });

  it('reads the whole palette of an 8-bit file: 1,078 bytes of headers, more than the first kilobyte', async () => {
    const { file } = files.find((f) => f.variant.name === '8-bit')!;
    const bytes = readFileSync(file);
    expect(bytes.readUInt32LE(10)).toBe(1078);
    expect(bmpHeaderLength(bytes.subarray(0, 18))).toBeGreaterThanOrEqual(1078);
    expect(readBmpHeader(bytes).palette).toHaveLength(256);
  });

  it('opens through sharp (for display and thumbnails) with the decoded pixels, also under another extension', async () => {
    const { file, pixels } = files.find((f) => f.variant.name === '24-bit')!;
    const renamed = join(work, 'really-a-bmp.jpg');
    writeFileSync(renamed, readFileSync(file));
    const { data, info } = await (await openImage(renamed)).raw().toBuffer({ resolveWithObject: true });
    expect(info).toMatchObject({ width: WIDTH, height: HEIGHT, channels: 3 });
    expect(Buffer.compare(data, Buffer.from(pixels.data))).toBe(0);

    const shown = await imageForDisplay(file);
    expect(shown.type).toBe('image/png');
    expect(Buffer.compare(await sharp(shown.body).raw().toBuffer(), Buffer.from(pixels.data))).toBe(0);
    const thumbnail = await new ThumbnailCache(join(work, 'project'), thumbnailOf).get(file);
    expect(await sharp(thumbnail).metadata()).toMatchObject({ format: 'jpeg', width: WIDTH, height: HEIGHT });
  });
});

describe('BMP', () => {
  it('round-trips 24-bit pixels through encodeBmp and decodeBmp', () => {
    const data = Buffer.from(Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 17) % 256));
    const decoded = decodeBmp(encodeBmp({ data, width: 5, height: 3 }));
    expect(decoded).toEqual({ data, width: 5, height: 3, channels: 3 });
  });

  it('treats an alpha channel that is 0 everywhere as unused (opaque), as browsers do', () => {
    const variant = BMP_VARIANTS.find((v) => v.name === '32-bit-alpha-v3')!;
    const pixels = pixelsFor(variant);
    const clear = new Uint8Array(pixels.data);
    for (let i = 3; i < clear.length; i += 4) clear[i] = 0;
    const decoded = decodeBmp(writeBmp({ ...pixels, data: clear }, variant));
    expect(decoded.channels).toBe(4);
    for (let i = 3; i < decoded.data.length; i += 4) expect(decoded.data[i]).toBe(255);
  });

  it('refuses what it cannot decode, saying why', () => {
    const bmp24 = encodeBmp({ data: Buffer.alloc(30 * 30 * 3), width: 30, height: 30 });
    expect(() => readBmpHeader(Buffer.from('PK not a bmp at all, no no no'))).toThrow('not a BMP file');
    const withCompression = (n: number, bits = 24) => {
      const copy = Buffer.from(bmp24);
      copy.writeUInt16LE(bits, 28);
      copy.writeUInt32LE(n, 30);
      return copy;
    };
    expect(() => readBmpHeader(withCompression(4))).toThrow('embedded JPEG (compression 4) is not supported');
    expect(() => readBmpHeader(withCompression(5))).toThrow('embedded PNG (compression 5) is not supported');
    expect(() => readBmpHeader(withCompression(1))).toThrow('RLE8 compression must have 8 bits per pixel, has 24');
    expect(() => readBmpHeader(withCompression(0, 64))).toThrow('64 bits per pixel is not supported');
    expect(() => decodeBmp(bmp24.subarray(0, 500))).toThrow(/pixel data is truncated/);
    const huge = Buffer.from(bmp24);
    huge.writeInt32LE(70_000, 18);
    huge.writeInt32LE(70_000, 22);
    expect(() => readBmpHeader(huge)).toThrow('exceeds the pixel limit');
    const gappy = Buffer.from(withCompression(3, 32));
    gappy.writeUInt32LE(0x00ff00ff, 54);
    expect(() => readBmpHeader(Buffer.concat([gappy, Buffer.alloc(16)]))).toThrow('not contiguous');
    const rle = writeBmp(pixelsFor(BMP_VARIANTS.find((v) => v.name === '8-bit-rle')!), BMP_VARIANTS.find((v) => v.name === '8-bit-rle')!);
    expect(() => decodeBmp(rle.subarray(0, rle.length - 40))).toThrow(/RLE data is truncated/);
  });
});
