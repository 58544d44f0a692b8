// libvips' loaders blocked for a whole process, proven in a process of its own (the block is process-wide and other
// tests draw their scenes through sharp's SVG loader): the bytes reach sharp directly, past Loupe's own sniffing.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const loaders = fileURLToPath(new URL('../../dist/main/fs/image-loaders.js', import.meta.url));

const script = `
const sharp = (await import('sharp')).default;
const { restrictImageLoaders } = await import(${JSON.stringify(loaders)});
const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="20" height="10"/></svg>');
const png = await sharp({ create: { width: 4, height: 3, channels: 3, background: '#ff0000' } }).png().toBuffer();
const tiff = await sharp(png).tiff().toBuffer();
const heif = await sharp(png).heif({ compression: 'av1' }).toBuffer();
const answer = async (bytes) => sharp(bytes).metadata().then((m) => m.format, (e) => e.message);
const before = { svg: await answer(svg), heif: await answer(heif) };
restrictImageLoaders();
console.log(JSON.stringify({ before, after: { svg: await answer(svg), heif: await answer(heif), png: await answer(png), tiff: await answer(tiff) } }));
`;

it('leaves only the loaders Loupe reads: SVG and HEIF refused by libvips itself, PNG and TIFF read', () => {
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) });
  const { before, after } = JSON.parse(output) as Record<string, Record<string, string>>;
  expect(before).toEqual({ svg: 'svg', heif: 'heif' });
  expect(after).toEqual({
    svg: 'Input buffer contains unsupported image format',
    heif: 'Input buffer contains unsupported image format',
    png: 'png',
    tiff: 'tiff',
  });
});
