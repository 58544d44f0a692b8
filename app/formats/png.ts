/**
 * The PNG a format holds (VOC's indexed label maps, LabelMe's mask shapes), read and written with fast-png, a
 * pure-JavaScript codec that writes palette PNGs exactly as given (sharp's palette output is quantised).
 */
import { decode, encode } from 'fast-png';
import type { BitMask } from '../geometry/rle.js';

/** An 8-bit indexed PNG: one palette index per pixel, row-major, and the palette as [r, g, b] entries. */
export function encodeIndexedPng(width: number, height: number, indices: Uint8Array, palette: readonly (readonly [number, number, number])[]): Uint8Array {
  return encode({ width, height, data: indices, depth: 8, channels: 1, palette: palette.map(([r, g, b]) => [r, g, b]) });
}

export interface IndexedImage {
  readonly width: number;
  readonly height: number;
  /** One value per pixel: the palette index, or the grey level (first channel) of a PNG without a palette. */
  readonly values: Uint8Array | Uint16Array;
  readonly palette: readonly (readonly number[])[] | null;
}

/** Decodes a PNG to one value per pixel (palette indices unpacked from 1, 2 or 4 bits; the first channel otherwise). */
export function decodeIndexedPng(bytes: Uint8Array): IndexedImage {
  const png = decode(bytes);
  const { width, height, depth, channels } = png;
  const values = depth === 16 ? new Uint16Array(width * height) : new Uint8Array(width * height);
  if (depth < 8) {
    const rowBytes = Math.ceil((width * depth) / 8);
    const perByte = 8 / depth;
    const mask = (1 << depth) - 1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const byte = png.data[y * rowBytes + Math.floor(x / perByte)]!;
        values[y * width + x] = (byte >> (8 - depth * ((x % perByte) + 1))) & mask;
      }
    }
  } else {
    for (let i = 0; i < width * height; i++) values[i] = png.data[i * channels]!;
  }
  return { width, height, values, palette: png.palette ?? null };
}

/** A PNG as a mask: every pixel whose value (index or first channel) is not 0 is set, as LabelMe reads its masks. */
export function decodePngMask(bytes: Uint8Array): BitMask {
  const { width, height, values } = decodeIndexedPng(bytes);
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = values[i] ? 1 : 0;
  return { width, height, data };
}

/** A bit mask as a 1-bit greyscale PNG (0 or 255 when shown), as LabelMe writes mask shapes. */
export function encodePngMask(mask: BitMask): Uint8Array {
  const rowBytes = Math.ceil(mask.width / 8);
  const data = new Uint8Array(rowBytes * mask.height);
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) if (mask.data[y * mask.width + x]) data[y * rowBytes + (x >> 3)]! |= 0x80 >> (x & 7);
  }
  return encode({ width: mask.width, height: mask.height, data, depth: 1, channels: 1 });
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUES = new Map([...BASE64].map((c, i) => [c, i]));

/** Standard base64 (padding and whitespace allowed) to bytes; throws on any other character. */
export function fromBase64(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '').replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (const c of clean) {
    const v = BASE64_VALUES.get(c);
    if (v === undefined) throw new Error(`invalid base64 character ${JSON.stringify(c)}`);
    value = (value << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}

export function toBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += BASE64[(n >> 18) & 63]! + BASE64[(n >> 12) & 63]!;
    out += i + 1 < bytes.length ? BASE64[(n >> 6) & 63]! : '=';
    out += i + 2 < bytes.length ? BASE64[n & 63]! : '=';
  }
  return out;
}
