// Bundles the renderer into dist/renderer (or --out DIR): app.js (esbuild), app.css and index.html.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// `--out DIR` builds elsewhere (tests running side by side each build their own copy).
const outFlag = process.argv.indexOf('--out');
const out = outFlag > 0 ? path.resolve(process.argv[outFlag + 1]) : path.join(here, '..', 'dist', 'renderer');
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
