import { describe, expect, it } from 'vitest';
import { decodeBmp, encodeBmp, readBmpHeader } from './bmp.js';

/** A BMP with a 40-byte (or 56-byte, for alpha masks) info header around the given pixel rows. */
function bmp(options: { width: number; height: number; bpp: number; compression?: number; masks?: number[]; palette?: number[][]; rows: number[][] }): Buffer {
  const { width, height, bpp, compression = 0, masks = [], palette = [], rows } = options;
  const dibSize = masks.length === 4 ? 56 : 40;
  const extra = masks.length === 3 ? 12 : 0;
  const rowBytes = Math.ceil((width * bpp) / 32) * 4;
  const pixelOffset = 14 + dibSize + extra + palette.length * 4;
  const out = Buffer.alloc(pixelOffset + rowBytes * Math.abs(height));
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(pixelOffset, 10);
  out.writeUInt32LE(dibSize, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(bpp, 28);
  out.writeUInt32LE(compression, 30);
  out.writeUInt32LE(palette.length, 46);
  masks.forEach((m, i) => out.writeUInt32LE(m, 54 + i * 4));
  palette.forEach(([r, g, b], i) => out.set([b!, g!, r!, 0], 14 + dibSize + extra + i * 4));
  rows.forEach((row, i) => out.set(row, pixelOffset + i * rowBytes));
  return out;
}

describe('BMP', () => {
  it('round-trips 24-bit pixels through encodeBmp and decodeBmp', () => {
    const data = Buffer.from(Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 17) % 256));
    const decoded = decodeBmp(encodeBmp({ data, width: 5, height: 3 }));
    expect(decoded).toEqual({ data, width: 5, height: 3, channels: 3 });
  });

  it('decodes an 8-bit palette image stored bottom-up', () => {
    const file = bmp({ width: 2, height: 2, bpp: 8, palette: [[255, 0, 0], [0, 0, 255]], rows: [[1, 0], [0, 1]] });
    expect([...decodeBmp(file).data]).toEqual([255, 0, 0, 0, 0, 255, 0, 0, 255, 255, 0, 0]);
  });

  it('decodes 1-bit and top-down images', () => {
    const file = bmp({ width: 3, height: -1, bpp: 1, palette: [[0, 0, 0], [255, 255, 255]], rows: [[0b10100000]] });
    expect(readBmpHeader(file)).toMatchObject({ width: 3, height: 1, topDown: true });
    expect([...decodeBmp(file).data]).toEqual([255, 255, 255, 0, 0, 0, 255, 255, 255]);
  });

  it('decodes 32-bit bitfields with alpha as RGBA', () => {
    const file = bmp({
      width: 1, height: 1, bpp: 32, compression: 3, masks: [0x00ff0000, 0x0000ff00, 0x000000ff, 0xff000000],
      rows: [[0x30, 0x20, 0x10, 0x80]],
    });
    expect(decodeBmp(file)).toMatchObject({ channels: 4, data: Buffer.from([0x10, 0x20, 0x30, 0x80]) });
  });

  it('decodes 16-bit 5-5-5 pixels', () => {
    const file = bmp({ width: 1, height: 1, bpp: 16, rows: [[0x00, 0x7c]] });
    expect([...decodeBmp(file).data]).toEqual([255, 0, 0]);
  });

  it('refuses what it cannot decode, saying why', () => {
    expect(() => readBmpHeader(Buffer.from('PK not a bmp at all, no no no'))).toThrow('not a BMP file');
    expect(() => readBmpHeader(bmp({ width: 1, height: 1, bpp: 8, compression: 1, rows: [] }))).toThrow('compressed BMP (compression 1)');
    const truncated = encodeBmp({ data: Buffer.alloc(30 * 30 * 3), width: 30, height: 30 }).subarray(0, 500);
    expect(() => decodeBmp(truncated)).toThrow(/pixel data is truncated/);
  });
});
