// Bundles the renderer into dist/renderer: app.js (esbuild), app.css and index.html.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, '..', 'dist', 'renderer');
await mkdir(out, { recursive: true });
await build({
  entryPoints: [path.join(here, 'main.ts')],
  outfile: path.join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'chrome120',
  sourcemap: true,
  minify: process.argv.includes('--minify'),
  logLevel: 'warning',
});
await copyFile(path.join(here, 'styles.css'), path.join(out, 'app.css'));
await copyFile(path.join(here, 'index.html'), path.join(out, 'index.html'));
