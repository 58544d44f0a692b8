// Why an image file cannot be used, said once for every place that records or prints it (scan, pre-label, the
// image protocol): what a file's first bytes say it is, the pixel limit, and a decoder's failure on one line.

/** The formats Loupe reads, whatever a file's extension says: the content decides. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'tiff' | 'bmp' | 'gif';

export type ImageProblemKind = 'unreadable' | 'empty' | 'not-an-image' | 'unsupported' | 'decode' | 'too-large';

/** One file's problem; `message` is one line, the reason shown after `<file>: `. */
export class ImageProblem extends Error {
  override readonly name = 'ImageProblem';
  constructor(
    readonly kind: ImageProblemKind,
    message: string,
  ) {
    super(message);
  }
}

/** sharp's own default limit (16383 x 16383): larger images are refused from their header, before any decoding. */
export const MAX_INPUT_PIXELS = 268_402_689;

/** How many leading bytes sniffImage wants. */
export const SNIFF_BYTES = 512;

const FORMAT_NAMES: Readonly<Record<ImageFormat, string>> = { jpeg: 'JPEG', png: 'PNG', webp: 'WebP', tiff: 'TIFF', bmp: 'BMP', gif: 'GIF' };
const READ_FORMATS = 'JPEG, PNG, WebP, TIFF, BMP and GIF';

const ascii = (bytes: Uint8Array, at: number, text: string) =>
  bytes.length >= at + text.length && [...text].every((c, i) => bytes[at + i] === c.charCodeAt(0));
const startsWith = (bytes: Uint8Array, signature: readonly number[]) => signature.every((b, i) => bytes[i] === b);

/** What Loupe reads, by signature. */
const READABLE: readonly [ImageFormat, (b: Uint8Array) => boolean][] = [
  ['jpeg', (b) => startsWith(b, [0xff, 0xd8, 0xff])],
  ['png', (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
  ['gif', (b) => ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a')],
  ['webp', (b) => ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')],
  // Classic and BigTIFF, either byte order.
  ['tiff', (b) => ascii(b, 0, 'II') && (b[2] === 42 || b[2] === 43) && b[3] === 0],
  ['tiff', (b) => ascii(b, 0, 'MM') && b[2] === 0 && (b[3] === 42 || b[3] === 43)],
  ['bmp', (b) => ascii(b, 0, 'BM')],
];

const HEIF_BRANDS = ['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1'];

/** Image formats people keep next to their photos that Loupe does not read, named so the message can say which. */
const UNSUPPORTED: readonly [string, (b: Uint8Array) => boolean][] = [
  ['PDF', (b) => ascii(b, 0, '%PDF-')],
  ['AVIF', (b) => ascii(b, 4, 'ftyp') && (ascii(b, 8, 'avif') || ascii(b, 8, 'avis'))],
  ['HEIF', (b) => ascii(b, 4, 'ftyp') && HEIF_BRANDS.some((brand) => ascii(b, 8, brand))],
  ['JPEG XL', (b) => startsWith(b, [0xff, 0x0a]) || (startsWith(b, [0, 0, 0, 0x0c]) && ascii(b, 4, 'JXL '))],
  ['JPEG 2000', (b) => startsWith(b, [0xff, 0x4f, 0xff, 0x51]) || (startsWith(b, [0, 0, 0, 0x0c]) && ascii(b, 4, 'jP  '))],
  ['Photoshop (PSD)', (b) => ascii(b, 0, '8BPS')],
];

/**
 * The format a file's first bytes (SNIFF_BYTES of them, or the whole file if shorter) announce, or the problem:
 * an empty file, text (HTML, a note, a JSON file given an image's name), a known format Loupe does not read (SVG,
 * PDF, HEIF, AVIF, ...), or bytes that match no format. Whether the rest decodes is the decoder's to say.
 */
export function sniffImage(head: Uint8Array): ImageFormat {
  if (head.length === 0) throw new ImageProblem('empty', 'empty file (0 bytes)');
  const readable = READABLE.find(([, matches]) => matches(head));
  if (readable) return readable[0];
  const unsupported = UNSUPPORTED.find(([, matches]) => matches(head))?.[0] ?? (isSvg(head) ? 'SVG' : null);
  if (unsupported) throw new ImageProblem('unsupported', `unsupported format: ${unsupported} (Loupe reads ${READ_FORMATS})`);
  if (looksLikeText(head)) throw new ImageProblem('not-an-image', 'not an image (starts like text/HTML)');
  throw new ImageProblem('not-an-image', `not an image (its first bytes match no format Loupe reads: ${READ_FORMATS})`);
}

function isSvg(head: Uint8Array): boolean {
  if (!looksLikeText(head)) return false;
  const text = new TextDecoder().decode(head);
  return /<svg[\s>]/i.test(text) && !/<html[\s>]/i.test(text);
}

/** UTF-8 (a sequence cut by the end of the sample aside) with no control characters but tab, line breaks and form feed. */
function looksLikeText(head: Uint8Array): boolean {
  for (let i = 0; i < head.length; ) {
    const b = head[i]!;
    if (b < 0x80) {
      if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d) return false;
      if (b === 0x7f) return false;
      i++;
      continue;
    }
    const length = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0) return false;
    for (let k = 1; k < length && i + k < head.length; k++) if ((head[i + k]! & 0xc0) !== 0x80) return false;
    i += length;
  }
  return true;
}

/** The refusal of an image whose header gives more than `limit` pixels. */
export function checkPixelLimit(width: number, height: number, limit = MAX_INPUT_PIXELS): void {
  if (width * height > limit) {
    throw new ImageProblem('too-large', `image too large: ${width} x ${height} = ${width * height} pixels exceeds the limit of ${limit}`);
  }
}

/**
 * Any failure to read or decode an image as an ImageProblem with a one-line message: file system errors are
 * 'unreadable'; anything else is 'decode', with its message folded into one line (see oneLine), or, for libvips
 * (sharp) failing on a file of a known `format`, what failed: its header or its data. libvips' own text is not
 * used there: its error buffer is shared by every operation in the process, so while several files are decoded at
 * once a message can carry another file's lines or lose its own (lovell/sharp#902; a scan reads six at a time).
 */
export function imageProblemOf(error: unknown, libvips?: { readonly format: ImageFormat; readonly part: 'header' | 'data' }): ImageProblem {
  if (error instanceof ImageProblem) return error;
  const message = oneLine(error instanceof Error ? error.message : String(error));
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return new ImageProblem('unreadable', `cannot read file: ${message}`);
  if (libvips) return new ImageProblem('decode', `cannot decode: the ${FORMAT_NAMES[libvips.format]} ${libvips.part} is damaged or cut short`);
  return new ImageProblem('decode', `cannot decode: ${message || 'unknown decoder error'}`);
}

/**
 * A message on one line: its lines trimmed and joined with '; ', dropping empty ones, trailing colons and lines
 * already said (libvips prints "premature end of JPEG image" up to three times, once after a prefix).
 */
export function oneLine(message: string): string {
  const parts: string[] = [];
  for (const line of message.split(/\r?\n|\r/)) {
    const part = line.trim().replace(/:$/, '').trim();
    if (part !== '' && !parts.some((said) => said === part || said.endsWith(`: ${part}`))) parts.push(part);
  }
  return parts.join('; ');
}
