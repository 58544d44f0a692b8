// Text files of an input, read strictly: bytes that are not UTF-8 are a problem to name, never silently turned
// into replacement characters (a category name must not become `th��ing`). A byte-order mark is dropped.
import { readFile } from 'node:fs/promises';

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The offset of the first byte that does not belong to a well-formed UTF-8 sequence, or -1. */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const length = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0 || i + length > bytes.length) return i;
    for (let k = 1; k < length; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    // Overlong forms, surrogates and code points past U+10FFFF.
    const second = bytes[i + 1]!;
    if ((b === 0xe0 && second < 0xa0) || (b === 0xed && second > 0x9f) || (b === 0xf0 && second < 0x90) || (b === 0xf4 && second > 0x8f)) return i;
    i += length;
  }
  return -1;
}

export class NotUtf8Error extends Error {
  override name = 'NotUtf8Error';
  constructor(readonly offset: number) {
    super(`is not UTF-8 text (byte ${offset} does not belong to a UTF-8 sequence)`);
  }
}

/** A UTF-8 text file's content; throws NotUtf8Error naming the first bad byte, or the file system's error. */
export async function readUtf8(path: string): Promise<string> {
  const bytes = await readFile(path);
  try {
    return decoder.decode(bytes);
  } catch {
    throw new NotUtf8Error(invalidUtf8Offset(bytes));
  }
}
