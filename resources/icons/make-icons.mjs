// Renders icon.svg to the PNG electron-builder turns into each platform's icon (it needs 512x512 or more).
// Run: node resources/icons/make-icons.mjs
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const here = path.dirname(fileURLToPath(import.meta.url));
const svg = path.join(here, 'icon.svg');
await sharp(svg, { density: 144 }).resize(512, 512).png({ compressionLevel: 9 }).toFile(path.join(here, 'icon.png'));
for (const size of [16, 32, 48, 64, 128, 256, 512]) {
  await sharp(svg, { density: 144 }).resize(size, size).png({ compressionLevel: 9 }).toFile(path.join(here, `${size}x${size}.png`));
}
console.log('wrote icon.png (512x512) and 16..256 px sizes in', here);
