// The bad-input corpus: what Loupe is given that it must refuse (or, looking wrong, accept), where it enters, and
// exactly what Loupe answers. One table, as data: bad-input.test.ts drives every case through the real entry points
// and README.md's "What Loupe refuses" is written from it (`npm run docs:refusals`).
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { MAX_PAYLOAD_BYTES, type ErrorCode, type FilePurpose } from '../../../app/ipc/contract.js';
import { encodeBmp } from '../../fs/bmp.js';

export const SHIPPED_MODELS = fileURLToPath(new URL('../../../resources/models/', import.meta.url));

/**
 * The folders a run of the corpus uses, under one temporary root:
 * - `images`: a folder scanned by `loupe scan --verify`, holding every image case (and `outside` for links to lead to);
 * - `project`: a scanned folder with a person's annotation, which `loupe import` and `loupe prelabel` are refused on;
 * - `inputs`: the COCO files and model cards given to those commands;
 * - `served`: the folder `loupe serve`'s bridge (HTTP image protocol, IPC) has open.
 */
export interface CorpusDirs {
  readonly images: string;
  readonly outside: string;
  readonly project: string;
  readonly inputs: string;
  readonly served: string;
}

/** The project folder's images: a.png 64 x 48, b.jpg 40 x 30, and c.png, an HTML page the scan records in error. */
export const PROJECT_IMAGES = { 'a.png': [64, 48], 'b.jpg': [40, 30] } as const;

export type Area = 'images' | 'COCO import' | 'models' | 'image protocol' | 'IPC';

/** Where a case enters Loupe. Strings may hold `{images}`, `{outside}`, `{project}`, `{inputs}`, `{served}`, `{models}`. */
export type Entry =
  /** A file of the `images` folder, named `file`: `loupe scan --verify` records and lists it, a plain rescan lists it again. */
  | { readonly via: 'scan'; readonly file: string }
  /** The `loupe` command, run as a user runs it; its database (`project`'s) must not change. */
  | { readonly via: 'cli'; readonly args: readonly string[] }
  /** A GET on the bridge of `loupe serve` over `served` (with its session cookie unless `session` is false). */
  | { readonly via: 'http'; readonly path: string; readonly session?: false }
  /**
   * A request through the dispatcher every transport calls (Electron's ipcMain, the bridge's WebSocket). `chosen`:
   * fields of the request that hold a file picked in main's dialog, each filled with the handle `files.choose`
   * hands out for that path (the page never names a path).
   */
  | { readonly via: 'ipc'; readonly channel: string; readonly request: unknown; readonly chosen?: Readonly<Record<string, ChosenFile>> }
  /** A raw frame on the bridge's WebSocket. */
  | { readonly via: 'ws'; readonly frame: string };

/** A file the person picks in main's dialog for `purpose`. */
export interface ChosenFile {
  readonly purpose: FilePurpose;
  readonly path: string;
}

export interface RefusalCase {
  /** Unique, kebab-case; a case's files are named after it. */
  readonly id: string;
  readonly area: Area;
  /** What is given, in a few words. */
  readonly input: string;
  readonly entry: Entry;
  /** Writes what the case needs (its image, COCO file, card, link) into the corpus folders. */
  readonly make?: (dirs: CorpusDirs) => Promise<void>;
  /**
   * The exit status (0 for a file a scan records in `error`), HTTP status or IPC error code; 'accepted' for input
   * that looks wrong but is read (content decides).
   */
  readonly outcome: number | ErrorCode | 'accepted';
  /**
   * Exactly what Loupe says: a scan's reason after `<file>: `; the CLI's first stderr line; the HTTP body; the IPC
   * error's message; for an accepted image, the size recorded (`W x H`). `…` stands for text that is not Loupe's
   * own (Node's JSON parser, onnxruntime, a hash), matched as any text on the line.
   */
  readonly message: string;
  /** Lines the CLI prints under the first one (an import listing every problem). */
  readonly detailLines?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Image bytes

const scene = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: '#336699' } }).composite([
    { input: Buffer.from(`<svg width="${width}" height="${height}"><circle cx="${width / 2}" cy="${height / 2}" r="${Math.min(width, height) / 3}" fill="#fc0"/></svg>`) },
  ]);

async function writeBytes(file: string, bytes: Uint8Array | string | Promise<Uint8Array>): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, await bytes);
}

const pngChunk = (type: string, data: Buffer) => {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return chunk;
};

/** A PNG whose header says `width` x `height`, grey, `depth` bits, with `idat` as its compressed data. */
function png(width: number, height: number, depth: number, idat: Buffer): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = depth;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A decompression bomb: 17000 x 17000 1-bit pixels of zeros, a valid PNG of ~35 KB that decodes to 867 MB of RGB. */
function pngBomb(): Buffer {
  const side = 17_000;
  return png(side, side, 1, deflateSync(Buffer.alloc((1 + Math.ceil(side / 8)) * side), { level: 9 }));
}

/** A real JPEG whose frame header is rewritten to claim `side` x `side`. */
async function jpegClaiming(side: number): Promise<Buffer> {
  const jpeg = Buffer.from(await scene(64, 48).jpeg().toBuffer());
  const frame = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
  jpeg.writeUInt16BE(side, frame + 5);
  jpeg.writeUInt16BE(side, frame + 7);
  return jpeg;
}

const cut = async (bytes: Promise<Buffer>, at: (b: Buffer) => number) => {
  const whole = await bytes;
  return whole.subarray(0, at(whole));
};
const half = (b: Buffer) => b.length >> 1;
const beforeJpegScan = (b: Buffer) => b.indexOf(Buffer.from([0xff, 0xda]));

/** Deterministic noise (an xorshift), so the case is the same bytes every run. */
function noise(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let x = 0x2545f491;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  bytes[0] = 0x00; // no format starts so
  return bytes;
}

const READ = '(Loupe reads JPEG, PNG, WebP, TIFF, BMP and GIF)';

function image(id: string, file: string, input: string, bytes: () => Uint8Array | string | Promise<Uint8Array>, message: string): RefusalCase {
  return { id, area: 'images', input, entry: { via: 'scan', file }, make: (d) => writeBytes(path.join(d.images, file), bytes()), outcome: 0, message };
}

function accepted(id: string, file: string, input: string, bytes: () => Promise<Uint8Array>, size: string): RefusalCase {
  return { ...image(id, file, input, bytes, size), outcome: 'accepted' };
}

const IMAGE_CASES: RefusalCase[] = [
  image('empty-file', 'empty.png', 'a zero-byte file named .png', () => '', 'empty file (0 bytes)'),
  image('text-as-png', 'notes.png', 'a text file named .png', () => 'Shot list for Tuesday:\n- the harbour\n', 'not an image (starts like text/HTML)'),
  image('html-as-jpg', 'download.jpg', 'an HTML error page saved as .jpg', () => '<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>Not Found</body></html>\n', 'not an image (starts like text/HTML)'),
  image('svg-as-jpg', 'logo.jpg', 'an SVG named .jpg', () => '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48"><rect width="64" height="48"/></svg>\n', `unsupported format: SVG ${READ}`),
  image('pdf-as-jpg', 'scan.jpg', 'a PDF named .jpg', () => '%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n', `unsupported format: PDF ${READ}`),
  image('heif-as-jpg', 'phone.jpg', 'a HEIF (HEIC) photo named .jpg', () => Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic\0\0\0\0mif1heic', 'latin1'), noise(64)]), `unsupported format: HEIF ${READ}`),
  image('avif-as-png', 'web.png', 'an AVIF named .png', () => scene(64, 48).avif().toBuffer(), `unsupported format: AVIF ${READ}`),
  image('noise-as-jpg', 'noise.jpg', 'random bytes named .jpg', () => noise(4096), `not an image (its first bytes match no format Loupe reads: JPEG, PNG, WebP, TIFF, BMP and GIF)`),
  image('jpeg-cut-in-data', 'cut-data.jpg', 'a JPEG cut off halfway through its pixels', () => cut(scene(400, 300).jpeg().toBuffer(), half), 'cannot decode: the JPEG data is damaged or cut short'),
  image('jpeg-cut-in-header', 'cut-header.jpg', 'a JPEG cut off before its pixels', () => cut(scene(400, 300).jpeg().toBuffer(), beforeJpegScan), 'cannot decode: the JPEG header is damaged or cut short'),
  image('png-cut-in-data', 'cut-data.png', 'a PNG cut off halfway through its pixels', () => cut(scene(400, 300).png().toBuffer(), half), 'cannot decode: the PNG data is damaged or cut short'),
  image('png-cut-in-header', 'cut-header.png', 'a PNG cut off inside its header', () => cut(scene(400, 300).png().toBuffer(), () => 20), 'cannot decode: the PNG header is damaged or cut short'),
  image('webp-cut', 'cut.webp', 'a WebP cut off halfway', () => cut(scene(400, 300).webp().toBuffer(), half), 'cannot decode: the WebP header is damaged or cut short'),
  image('bmp-cut', 'cut.bmp', 'a BMP cut off halfway', () => encodeBmp({ data: Buffer.alloc(40 * 30 * 3, 0x80), width: 40, height: 30 }).subarray(0, 1000), 'cannot decode: BMP pixel data is truncated (1000 bytes, 3654 needed)'),
  image('png-header-20000', 'huge.png', 'a PNG header claiming 20000 x 20000 (no pixels behind it)', () => png(20_000, 20_000, 8, deflateSync(Buffer.alloc(64))), 'image too large: 20000 x 20000 = 400000000 pixels exceeds the limit of 268402689'),
  image('png-bomb', 'bomb.png', 'a decompression bomb: a valid 35 KB PNG of 17000 x 17000 pixels', async () => pngBomb(), 'image too large: 17000 x 17000 = 289000000 pixels exceeds the limit of 268402689'),
  image('jpeg-header-65000', 'huge.jpg', 'a JPEG whose frame header claims 65000 x 65000', () => jpegClaiming(65_000), 'image too large: 65000 x 65000 = 4225000000 pixels exceeds the limit of 268402689'),
  accepted('png-as-jpg', 'really-a-png.jpg', 'PNG bytes named .jpg (the content decides)', () => scene(64, 48).png().toBuffer(), '64 x 48'),
  accepted('jpeg-as-png', 'really-a-jpeg.png', 'JPEG bytes named .png', () => scene(48, 64).jpeg().toBuffer(), '48 x 64'),
  accepted('cmyk-jpeg', 'print.jpg', 'a CMYK JPEG', () => scene(64, 48).toColourspace('cmyk').jpeg().toBuffer(), '64 x 48'),
  accepted('png-16-bit', 'deep.png', 'a 16-bit PNG', () => scene(64, 48).toColourspace('rgb16').png().toBuffer(), '64 x 48'),
  accepted('png-palette', 'palette.png', 'a palette (8-bit indexed) PNG', () => scene(64, 48).png({ palette: true, colours: 16 }).toBuffer(), '64 x 48'),
  {
    id: 'link-out-file',
    area: 'images',
    input: 'a symbolic link to an image outside the folder',
    entry: { via: 'scan', file: 'elsewhere.png' },
    make: async (d) => {
      await writeBytes(path.join(d.outside, 'elsewhere.png'), scene(64, 48).png().toBuffer());
      await symlink(path.join(d.outside, 'elsewhere.png'), path.join(d.images, 'elsewhere.png'));
    },
    outcome: 0,
    message: 'a link out of the folder (to {outside}/elsewhere.png), not followed',
  },
  {
    id: 'link-out-folder',
    area: 'images',
    input: 'a symbolic link to a folder outside the folder',
    entry: { via: 'scan', file: 'more-photos' },
    make: async (d) => {
      await writeBytes(path.join(d.outside, 'more', 'photo.jpg'), scene(64, 48).jpeg().toBuffer());
      await symlink(path.join(d.outside, 'more'), path.join(d.images, 'more-photos'));
    },
    outcome: 0,
    message: 'a link out of the folder (to {outside}/more), not followed',
  },
];

// ---------------------------------------------------------------------------------------------------------------
// COCO import: `loupe import {project} --coco FILE`, refused whole; the project's database does not change.

const cocoBase = () => ({
  images: [
    { id: 1, file_name: 'a.png', width: 64, height: 48 },
    { id: 2, file_name: 'b.jpg', width: 40, height: 30 },
  ],
  categories: [{ id: 1, name: 'circle' }],
  annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], segmentation: [[10, 10, 30, 10, 30, 30]] }],
});
type Coco = ReturnType<typeof cocoBase> & Record<string, unknown>;
type CocoAnnotation = Coco['annotations'][number] & Record<string, unknown>;

function coco(id: string, input: string, content: (c: Coco) => unknown, message: string, detailLines?: number): RefusalCase {
  const file = `${id}.json`;
  return {
    id,
    area: 'COCO import',
    input,
    entry: { via: 'cli', args: ['import', '{project}', '--coco', `{inputs}/${file}`] },
    make: async (d) => {
      const value = content(cocoBase() as Coco);
      await writeBytes(path.join(d.inputs, file), Buffer.isBuffer(value) || typeof value === 'string' ? value : JSON.stringify(value, null, 1));
    },
    outcome: 2,
    message: `loupe: {inputs}/${file}: ${message}`,
    ...(detailLines === undefined ? {} : { detailLines }),
  };
}

const annotation = (c: Coco, change: (a: CocoAnnotation) => void) => {
  change(c.annotations[0] as CocoAnnotation);
  return c;
};

const COCO_CASES: RefusalCase[] = [
  {
    id: 'coco-missing-file',
    area: 'COCO import',
    input: 'a COCO path that does not exist',
    entry: { via: 'cli', args: ['import', '{project}', '--coco', '{inputs}/nowhere.json'] },
    outcome: 2,
    message: 'loupe: {inputs}/nowhere.json: no such file',
  },
  {
    id: 'coco-folder',
    area: 'COCO import',
    input: 'a folder given as the COCO file',
    entry: { via: 'cli', args: ['import', '{project}', '--coco', '{inputs}'] },
    outcome: 2,
    message: 'loupe: {inputs}: is a folder, not a COCO file',
  },
  coco('coco-not-utf8', 'a COCO file saved as Latin-1 (a category "café")',
    (c) => Buffer.from(JSON.stringify({ ...c, categories: [{ id: 1, name: 'café' }] }), 'latin1'),
    'not valid UTF-8: byte 149 (0xe9); save the file as UTF-8'),
  coco('coco-malformed-json', 'JSON cut off in the middle', () => '{"images": [{"id": 1, "file_name": "a.png"', 'malformed JSON: …'),
  coco('coco-not-an-object', 'a JSON array instead of a COCO object', () => '[]', '(top level): Invalid input: expected object, received array'),
  coco('coco-no-images', 'a COCO file without "images"', (c) => ({ categories: c.categories, annotations: c.annotations }), 'images: Invalid input: expected array, received undefined'),
  coco('coco-id-type', 'an annotation id that is a string', (c) => annotation(c, (a) => (a.id = 'one' as never)), 'annotations[0].id: Invalid input: expected number, received string'),
  coco('coco-duplicate-image-id', 'two images with one id', (c) => ({ ...c, images: [c.images[0], { ...c.images[1], id: 1 }] }), 'images[1].id: 1 is used twice'),
  coco('coco-duplicate-category', 'two categories with one name', (c) => ({ ...c, categories: [...c.categories, { id: 2, name: 'circle' }] }), 'categories[1].name: "circle" is used twice'),
  coco('coco-unknown-image', 'an annotation of an image id the file does not have', (c) => annotation(c, (a) => (a.image_id = 9)), 'annotations[0].image_id: 9 does not exist'),
  coco('coco-unknown-category', 'an annotation of a category id the file does not have', (c) => annotation(c, (a) => (a.category_id = 9)), 'annotations[0].category_id: 9 does not exist'),
  coco('coco-bbox-outside', 'a box-only annotation wholly outside its image', (c) => annotation(c, (a) => {
    delete (a as Partial<CocoAnnotation>).segmentation;
    a.bbox = [100, 100, 5, 5];
  }), 'annotations[0].bbox: [100, 100, 5, 5] lies wholly outside image 1 (width 64 x height 48)'),
  coco('coco-no-bbox-no-mask', 'an annotation with neither box nor mask', (c) => annotation(c, (a) => {
    delete (a as Partial<CocoAnnotation>).segmentation;
    delete (a as Partial<CocoAnnotation>).bbox;
  }), 'annotations[0].bbox: is missing, and there is no mask to take it from'),
  coco('coco-polygon-2-points', 'a polygon of 2 points', (c) => annotation(c, (a) => (a.segmentation = [[1, 1, 5, 5]])), 'annotations[0].segmentation[0]: polygon has 2 points, needs at least 3'),
  coco('coco-rle-short', 'RLE counts that do not fill the image', (c) => annotation(c, (a) => (a.segmentation = { size: [48, 64], counts: [10, 5] } as never)), 'annotations[0].segmentation: RLE counts sum to 15, expected 3072 (height 48 x width 64)'),
  coco('coco-rle-size', 'an RLE mask of another size than its image', (c) => annotation(c, (a) => (a.segmentation = { size: [30, 40], counts: [1200] } as never)), 'annotations[0].segmentation.size: [30, 40] does not match image 1 (height 48 x width 64)'),
  coco('coco-rle-string', 'a compressed RLE string with a character outside its alphabet', (c) => annotation(c, (a) => (a.segmentation = { size: [48, 64], counts: 'a b' } as never)), 'annotations[0].segmentation: RLE string has an invalid character " " at position 1'),
  coco('coco-image-size', 'an image whose size differs from the file in the folder', (c) => ({ ...c, images: [{ ...c.images[0], width: 65 }, c.images[1]] }), 'images[0]: a.png is 65x48 in the COCO file but 64x48 (width x height, as displayed) in the project'),
  coco('coco-image-in-error', 'annotations for an image the scan could not decode', (c) => ({ ...c, images: [{ id: 1, file_name: 'c.png', width: 64, height: 48 }] }), 'images[0]: c.png could not be decoded when scanned (not an image (starts like text/HTML))'),
  coco('coco-many-problems', '25 annotations of unknown categories', (c) => ({
    ...c,
    annotations: Array.from({ length: 25 }, (_, i) => ({ id: i + 1, image_id: 1, category_id: 7, bbox: [1, 1, 2, 2] })),
  }), '25 problems, nothing was imported', 21),
];

// ---------------------------------------------------------------------------------------------------------------
// Models: a bad card or graph given to `loupe prelabel --model` (exit 2) or imported through models.import.

const shippedCard = async () => JSON.parse(await readFile(path.join(SHIPPED_MODELS, 'loupe-shapes.json'), 'utf8')) as Record<string, unknown> & {
  outputs: Record<string, { name: string }>;
};
const withoutHash = ({ sha256: _, ...card }: Record<string, unknown>) => card;

/** A card (and, unless `onnx` is null, its .onnx: the shipped graph, linked) in `inputs`, named after the case. */
function modelFiles(id: string, card: () => Promise<unknown>, onnx: 'shipped' | 'garbage' | null = 'shipped') {
  return async (d: CorpusDirs) => {
    const value = await card();
    await writeBytes(path.join(d.inputs, `${id}.json`), typeof value === 'string' ? value : JSON.stringify(value, null, 1));
    if (onnx === 'shipped') await symlink(path.join(SHIPPED_MODELS, 'loupe-shapes.onnx'), path.join(d.inputs, `${id}.onnx`));
    if (onnx === 'garbage') await writeBytes(path.join(d.inputs, `${id}.onnx`), 'this is not an ONNX graph\n');
  };
}

function prelabel(id: string, input: string, card: () => Promise<unknown>, message: string, onnx?: 'shipped' | 'garbage' | null): RefusalCase {
  return {
    id,
    area: 'models',
    input,
    entry: { via: 'cli', args: ['prelabel', '{project}', '--model', `{inputs}/${id}.json`] },
    make: modelFiles(id, card, onnx),
    outcome: 2,
    message: `loupe: {inputs}/${id}.json: ${message}`,
  };
}

function modelImport(id: string, input: string, card: () => Promise<unknown>, message: string, onnx: 'shipped' | 'garbage' | null = 'shipped'): RefusalCase {
  return {
    id,
    area: 'models',
    input,
    entry: {
      via: 'ipc', channel: 'models.import', request: { kind: 'card', target: 'project' },
      chosen: { onnx: { purpose: 'model-onnx', path: `{inputs}/${id}.onnx` }, card: { purpose: 'model-card', path: `{inputs}/${id}.json` } },
    },
    make: modelFiles(id, card, onnx),
    outcome: 'invalid-request',
    message,
  };
}

const SHIPPED_HASH = '506729c925488756ff1e5b73b72c40b21154bdbf9c3d4aac0387af6e1fdd6c95';

const MODEL_CASES: RefusalCase[] = [
  prelabel('card-not-json', 'a model card that is not JSON', async () => '{"format": "torchvision-maskrcnn",', 'model card is not valid JSON: …'),
  prelabel('card-no-labels', 'a card without its labels', async () => {
    const { labels: _, ...card } = await shippedCard();
    return card;
  }, 'invalid model card: labels: Invalid input: expected array, received undefined'),
  prelabel('card-unknown-format', 'a card of a format Loupe does not run', async () => ({ ...(await shippedCard()), format: 'yolo-v8' }),
    'invalid model card: format: Invalid option: expected one of "torchvision-maskrcnn"|"onnx-zoo-maskrcnn"|"torchvision-fasterrcnn"'),
  prelabel('card-onnx-missing', 'a card whose .onnx is not beside it', shippedCard, '{inputs}/card-onnx-missing.onnx: model file not found (named by its card {inputs}/card-onnx-missing.json)', null),
  prelabel('card-sha-mismatch', 'a card whose sha256 is not its graph\'s', async () => ({ ...(await shippedCard()), sha256: '0'.repeat(64) }),
    `{inputs}/card-sha-mismatch.onnx: sha256 ${SHIPPED_HASH} differs from ${'0'.repeat(64)} in its card {inputs}/card-sha-mismatch.json`),
  prelabel('card-wrong-outputs', 'a card naming an output the graph does not have', async () => {
    const card = await shippedCard();
    return { ...card, outputs: { ...card.outputs, boxes: { ...card.outputs.boxes, name: 'bboxes' } } };
  }, '{inputs}/card-wrong-outputs.onnx does not match its card {inputs}/card-wrong-outputs.json: output \'bboxes\' named by the card is not in the graph (graph outputs: boxes, labels, scores, masks)'),
  prelabel('card-box-only-on-masks', 'a box-only card on a graph that also outputs masks', async () => {
    const card = withoutHash(await shippedCard()) as Awaited<ReturnType<typeof shippedCard>>;
    const { masks: _, ...boxOutputs } = card.outputs;
    return { ...card, format: 'torchvision-fasterrcnn', outputs: boxOutputs };
  }, '{inputs}/card-box-only-on-masks.onnx does not match its card {inputs}/card-box-only-on-masks.json: card format torchvision-fasterrcnn is box-only but the graph also outputs masks'),
  prelabel('onnx-not-a-graph', 'an .onnx that is not an ONNX graph', async () => withoutHash(await shippedCard()), '{inputs}/onnx-not-a-graph.onnx: cannot load model: …', 'garbage'),
  modelImport('import-onnx-missing', 'a model imported with an .onnx that does not exist', async () => withoutHash(await shippedCard()), 'import-onnx-missing.onnx: model file not found', null),
  modelImport('import-card-not-json', 'a model imported with a card that is not JSON', async () => '{"name": ', 'import-card-not-json.json: cannot read the card: …'),
  modelImport('import-sha-mismatch', 'a model imported whose sha256 differs from its card\'s', async () => ({ ...(await shippedCard()), name: 'mismatch', sha256: 'f'.repeat(64) }),
    `.loupe/models/mismatch.onnx: sha256 ${SHIPPED_HASH} differs from ${'f'.repeat(64)} in its card`),
  modelImport('import-wrong-outputs', 'a model imported whose card names outputs the graph lacks', async () => {
    const card = withoutHash(await shippedCard()) as Awaited<ReturnType<typeof shippedCard>>;
    return { ...card, name: 'wrong-outputs', outputs: { ...card.outputs, scores: { ...card.outputs.scores, name: 'confidence' } } };
  }, 'import refused: .loupe/models/wrong-outputs.onnx does not match its card .loupe/models/wrong-outputs.json: output \'confidence\' named by the card is not in the graph (graph outputs: boxes, labels, scores, masks)'),
  {
    id: 'download-without-sha',
    area: 'models',
    input: 'a model download without the sha256 to check it by (models.download)',
    entry: { via: 'ipc', channel: 'models.download', request: { url: 'https://models.example.org/shapes.onnx', form: { name: 'shapes', format: 'torchvision-maskrcnn', labels: ['shape'] }, target: 'project' } },
    outcome: 'invalid-request',
    message: 'a download needs the sha256 of the file, so it can be checked before it is used',
  },
];

// ---------------------------------------------------------------------------------------------------------------
// The image protocol: GET /files/<path> and /thumbs/<path> on `loupe serve`'s bridge (loupe-image:// in the app).

function get(id: string, input: string, urlPath: string, outcome: number, message: string, make?: RefusalCase['make']): RefusalCase {
  return { id, area: 'image protocol', input, entry: { via: 'http', path: urlPath }, ...(make ? { make } : {}), outcome, message };
}

const PATH_CASES: RefusalCase[] = [
  get('path-traversal', 'a path climbing out with ../', '/files/../outside.png', 403, 'Refused path "../outside.png": traversal'),
  get('path-traversal-encoded', 'a path climbing out with %2e%2e', '/files/%2e%2e/outside.png', 403, 'Refused path "%2e%2e/outside.png": traversal'),
  get('path-traversal-slash-encoded', 'a path climbing out with ..%2F', '/files/..%2Foutside.png', 403, 'Refused path "..%2Foutside.png": traversal'),
  get('path-traversal-backslash', 'a path climbing out with ..\\ (Windows separator)', '/files/..%5Coutside.png', 403, 'Refused path "..%5Coutside.png": backslash'),
  get('path-absolute', 'an absolute path', '/files//etc/passwd', 403, 'Refused path "/etc/passwd": absolute'),
  get('path-absolute-encoded', 'an absolute path, encoded', '/files/%2Fetc%2Fpasswd', 403, 'Refused path "%2Fetc%2Fpasswd": absolute'),
  get('path-drive-letter', 'a Windows drive path', '/files/C:%5CWindows%5Cwin.ini', 403, 'Refused path "C:%5CWindows%5Cwin.ini": absolute'),
  get('path-nul', 'a NUL byte in the name', '/files/a.png%00.txt', 403, 'Refused path "a.png%00.txt": nul-byte'),
  get('path-link-out-file', 'a symbolic link to an image outside the folder', '/files/link-out.png', 403, 'Refused path "link-out.png": outside-root', async (d) => {
    await writeBytes(path.join(d.outside, 'served-secret.png'), scene(64, 48).png().toBuffer());
    await symlink(path.join(d.outside, 'served-secret.png'), path.join(d.served, 'link-out.png'));
  }),
  get('path-link-out-folder', 'an image reached through a link to a folder outside', '/thumbs/linked/served-secret.png', 403, 'Refused path "linked/served-secret.png": outside-root', async (d) => {
    await symlink(d.outside, path.join(d.served, 'linked'));
  }),
  get('path-project-database', 'the project database (.loupe/project.db)', '/files/.loupe/project.db', 403, 'Refused path ".loupe/project.db": not-an-image'),
  get('path-not-an-image-name', 'a file of the folder that is not an image (notes.txt)', '/files/notes.txt', 403, 'Refused path "notes.txt": not-an-image', (d) => writeBytes(path.join(d.served, 'notes.txt'), 'call the lab\n')),
  get('path-missing', 'an image that does not exist', '/files/missing.png', 404, 'Refused path "missing.png": not-found'),
  get('path-html-as-png', 'the thumbnail of an HTML page named .png', '/thumbs/page.png', 422, 'cannot show this image: not an image (starts like text/HTML)', (d) => writeBytes(path.join(d.served, 'page.png'), '<html><body>Moved</body></html>\n')),
  get('path-cut-jpeg', 'a JPEG cut off halfway, shown', '/files/cut.jpg', 422, 'cannot show this image: cannot decode: the JPEG data is damaged or cut short', (d) => writeBytes(path.join(d.served, 'cut.jpg'), cut(scene(400, 300).withMetadata({ orientation: 6 }).jpeg().toBuffer(), half))),
  {
    id: 'path-no-session',
    area: 'image protocol',
    input: 'a request without the session cookie',
    entry: { via: 'http', path: '/files/good.png', session: false },
    outcome: 403,
    message: 'no session: open the address `loupe serve` printed',
  },
];

// ---------------------------------------------------------------------------------------------------------------
// IPC: requests through the dispatcher, raw frames on the bridge's WebSocket.

const ipc = (id: string, input: string, channel: string, request: unknown, outcome: ErrorCode, message: string): RefusalCase =>
  ({ id, area: 'IPC', input, entry: { via: 'ipc', channel, request }, outcome, message });
const ws = (id: string, input: string, frame: string, outcome: ErrorCode, message: string): RefusalCase =>
  ({ id, area: 'IPC', input, entry: { via: 'ws', frame }, outcome, message });

const IPC_CASES: RefusalCase[] = [
  ws('ipc-oversized', `a WebSocket message of ${MAX_PAYLOAD_BYTES + 1} bytes`, 'x'.repeat(MAX_PAYLOAD_BYTES + 1), 'too-large', `message of ${MAX_PAYLOAD_BYTES + 1} bytes exceeds the ${MAX_PAYLOAD_BYTES}-byte limit`),
  ws('ipc-not-json', 'a WebSocket message that is not JSON', 'images.get 1', 'invalid-request', 'message is not JSON'),
  ws('ipc-no-envelope', 'a WebSocket message without an id', '{"channel": "images.get", "request": {"id": 1}}', 'invalid-request', 'message must be {id, channel, request}'),
  ipc('ipc-unknown-channel', 'a channel the contract does not have', 'images.delete', { id: 1 }, 'unknown-channel', 'unknown channel "images.delete"'),
  ipc('ipc-prototype-channel', 'a prototype property as channel', '__proto__', {}, 'unknown-channel', 'unknown channel "__proto__"'),
  ipc('ipc-wrong-type', 'an id that is a string', 'images.get', { id: '1' }, 'invalid-request', 'images.get: id: Invalid input: expected number, received string'),
  ipc('ipc-missing-field', 'a request without its field', 'annotations.list', {}, 'invalid-request', 'annotations.list: imageId: Invalid input: expected number, received undefined'),
  ipc('ipc-not-an-object', 'a request that is not an object', 'images.list', 'all', 'invalid-request', 'images.list: Invalid input: expected object, received string'),
  ipc('ipc-unknown-status', 'a status the contract does not have', 'images.setStatus', { id: 1, status: 'deleted' }, 'invalid-request',
    'images.setStatus: status: Invalid option: expected one of "new"|"predicted"|"in-review"|"reviewed"|"error"'),
  ipc('ipc-empty-class-name', 'a class name of spaces', 'categories.create', { name: '   ' }, 'invalid-request', 'categories.create: name: Too small: expected string to have >=1 characters'),
  ipc('ipc-unknown-image', 'an image id the project does not have', 'annotations.list', { imageId: 999_999 }, 'not-found', 'image 999999 does not exist'),
  ipc('ipc-duplicate-class', 'a class name already taken', 'categories.create', { name: 'circle' }, 'conflict', "a class named 'circle' already exists"),
  ipc('ipc-open-a-path', 'a folder to open named by its path (the page holds handles only)', 'project.open', { folder: '{served}/other-folder' }, 'invalid-request',
    'project.open: folder: expected a handle main handed out, not a path'),
  ipc('ipc-open-forged-handle', 'a folder to open by a handle main never handed out', 'project.open', { folder: 'AAAAAAAAAAAAAAAAAAAAAA' }, 'not-found',
    'project-folder: this handle was not handed out by Loupe for it; choose the folder again'),
  ipc('ipc-export-path', 'a COCO export destination named by its path', 'export.coco', { path: '{outside}/x.json' }, 'invalid-request', 'export.coco: Unrecognized key: "path"'),
];

export const REFUSALS: readonly RefusalCase[] = [...IMAGE_CASES, ...COCO_CASES, ...MODEL_CASES, ...PATH_CASES, ...IPC_CASES];

// ---------------------------------------------------------------------------------------------------------------
// README

export const README_START = '<!-- refusals:start (written by `npm run docs:refusals` from main/testing/bad-input/corpus.test-support.ts) -->';
export const README_END = '<!-- refusals:end -->';

function outcomeText(c: RefusalCase): string {
  if (c.outcome === 'accepted') return 'accepted';
  switch (c.entry.via) {
    case 'scan':
      return c.id.startsWith('link-') ? 'listed, not followed' : 'status `error`';
    case 'cli':
      return `exit ${c.outcome}`;
    case 'http':
      return `HTTP ${c.outcome}`;
    default:
      return `\`${c.outcome}\``;
  }
}

/** Text as a table cell's code: the corpus's folders named by their role, pipes escaped, backticks kept. */
function code(text: string): string {
  const shown = text
    .replaceAll('{inputs}/', '')
    .replaceAll('{inputs}', 'DIR')
    .replaceAll('{outside}', '/elsewhere')
    .replaceAll('{served}', 'FOLDER')
    .replaceAll('{project}', 'FOLDER')
    .replaceAll('|', '\\|');
  return shown.includes('`') ? `\`\` ${shown} \`\`` : `\`${shown}\``;
}

function shownMessage(c: RefusalCase): string {
  const more = c.detailLines ? ` (then ${c.detailLines} lines: each problem, up to 20, and how many more)` : '';
  return `${code(c.outcome === 'accepted' ? `recorded as ${c.message}` : c.message)}${more}`;
}

function entryText({ entry }: RefusalCase): string {
  switch (entry.via) {
    case 'scan':
      return '`loupe scan`';
    case 'cli':
      return code(`loupe ${entry.args[0]}`);
    case 'http':
      return code(`GET ${entry.path}`) + (entry.session === false ? ' (no session)' : '');
    case 'ipc':
      return code(entry.channel) + (entry.chosen ? ' (files chosen in its dialog)' : '');
    case 'ws':
      return 'a WebSocket frame';
  }
}

/** The "What Loupe refuses" table, between its markers. */
export function refusalsTable(cases: readonly RefusalCase[] = REFUSALS): string {
  const rows = cases.map((c) => `| ${c.area} | ${c.input.replaceAll('|', '\\|')} | ${entryText(c)} | ${outcomeText(c)} | ${shownMessage(c)} |`);
  return [
    README_START,
    '',
    '| area | input | given to | outcome | what Loupe says |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    README_END,
  ].join('\n');
}

/** README.md with its table replaced by `table`; throws when the markers are missing. */
export function withRefusalsTable(readme: string, table: string = refusalsTable()): string {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${README_START} ... ${README_END} section`);
  return readme.slice(0, start) + table + readme.slice(end + README_END.length);
}
