// The image folders of bench:prelabel, generated once (seeded, so the same everywhere) and kept in bench/out.
//
// images: 640x480 PNG scenes of shapes, every one the same size.
// photos: the same scenes enlarged to 4000x3000, with film grain so the JPEGs are the size of a phone's photos
//   (~2 MB, ~26 ms to decode and shrink here, as a real 12-megapixel photo): decoding, downscaling and mapping masks
//   back to 12 megapixels then weigh as they do on a real folder.
// mixed: a folder as people have them: every image its own size (each side 256-1024 px, so both orientations and
//   aspect ratios up to 4:1), a third each PNG, JPEG and WebP, one JPEG in eight with an EXIF rotation. The model
//   then sees a different input shape for almost every image.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { randomScene, sceneImage, seededRandom } = await import(path.join(root, 'dist/main/inference/testing.js'));

const MIXED_FORMATS = ['png', 'jpg', 'webp'];
const EXTENSIONS = { images: ['.png'], photos: ['.jpg'], mixed: MIXED_FORMATS.map((format) => `.${format}`) };
const DESCRIPTIONS = {
  images: '640x480 PNG',
  photos: '4000x3000 JPEG',
  mixed: 'mixed sizes (256-1024 px a side) and formats (PNG, JPEG, WebP)',
};

async function generate(kind, count, dir) {
  mkdirSync(dir, { recursive: true });
  const random = seededRandom(kind === 'mixed' ? 2027 : 2026);
  const grain = kind === 'photos' ? Buffer.alloc(4000 * 3000) : null;
  if (grain) for (let p = 0; p < grain.length; p++) grain[p] = 88 + Math.floor(random() * 81);
  for (let i = 0; i < count; i++) {
    const file = path.join(dir, `scene-${String(i).padStart(4, '0')}`);
    if (kind === 'mixed') {
      const width = 256 + Math.floor(random() * 769);
      const height = 256 + Math.floor(random() * 769);
      const format = MIXED_FORMATS[Math.floor(random() * MIXED_FORMATS.length)];
      const rotated = format === 'jpg' && random() < 1 / 8;
      const image = sceneImage(randomScene(random, width, height, 6));
      await (rotated ? image.withMetadata({ orientation: 6 }) : image).toFile(`${file}.${format}`);
      continue;
    }
    await sceneImage(randomScene(random, 640, 480, 6)).toFile(`${file}.png`);
    if (grain) {
      await sharp(`${file}.png`)
        .resize(4000, 3000, { kernel: 'cubic' })
        .composite([{ input: grain, raw: { width: 4000, height: 3000, channels: 1 }, blend: 'overlay' }])
        .jpeg({ quality: 90 })
        .toFile(`${file}.jpg`);
      rmSync(`${file}.png`);
    }
  }
}

/** The folder of `count` images of this kind (generated on first use): its path, sorted file names and a description. */
export async function prelabelImages(kind, count) {
  const dir = path.join(root, 'bench', 'out', `prelabel-${kind}-${count}`);
  if (!existsSync(dir) || readdirSync(dir).length < count) await generate(kind, count, dir);
  const files = readdirSync(dir).filter((f) => EXTENSIONS[kind].includes(path.extname(f))).sort().slice(0, count);
  return { dir, files, description: `${files.length} x ${DESCRIPTIONS[kind]} in ${path.relative(root, dir)}` };
}
