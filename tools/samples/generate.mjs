#!/usr/bin/env node
// Writes resources/samples: small synthetic scenes of circles, rectangles, triangles and stars (the shapes the
// default model is trained on) on varied backgrounds, drawn as SVG and rendered by sharp, plus annotations.json,
// their ground truth as COCO polygons. Seeded, so a rerun writes the same scenes.
// Usage: node tools/samples/generate.mjs [out-folder]
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

const CLASSES = ['circle', 'rectangle', 'triangle', 'star'];
const out = process.argv[2] ?? new URL('../../resources/samples/', import.meta.url).pathname;

function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (rgb) => `#${rgb.map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;

function outline(kind, cx, cy, r, angle, rnd) {
  let pts;
  if (kind === 'circle') pts = Array.from({ length: 48 }, (_, i) => [Math.cos((i / 48) * 2 * Math.PI), Math.sin((i / 48) * 2 * Math.PI)]);
  else if (kind === 'rectangle') {
    const a = 0.4 + 0.6 * rnd();
    pts = [[-1, -a], [1, -a], [1, a], [-1, a]];
  } else if (kind === 'triangle') pts = [0, 1, 2].map((i) => [Math.cos(i * 2.094 + (rnd() - 0.5) * 0.6), Math.sin(i * 2.094 + (rnd() - 0.5) * 0.6)]);
  else {
    const inner = 0.4 + 0.15 * rnd();
    pts = Array.from({ length: 10 }, (_, i) => [Math.cos((i * Math.PI) / 5) * (i % 2 ? inner : 1), Math.sin((i * Math.PI) / 5) * (i % 2 ? inner : 1)]);
  }
  const [c, s] = [Math.cos(angle), Math.sin(angle)];
  return pts.map(([x, y]) => [cx + r * (x * c - y * s), cy + r * (x * s + y * c)]);
}

function background(kind, w, h, rnd) {
  const c0 = hex([rnd() * 255, rnd() * 255, rnd() * 255]);
  const c1 = hex([rnd() * 255, rnd() * 255, rnd() * 255]);
  const period = 8 + Math.round(rnd() * 24);
  const defs = {
    gradient: `<linearGradient id="bg" x1="0" y1="0" x2="${rnd().toFixed(2)}" y2="1"><stop offset="0" stop-color="${c0}"/><stop offset="1" stop-color="${c1}"/></linearGradient>`,
    stripes: `<pattern id="bg" width="${period}" height="${period}" patternUnits="userSpaceOnUse" patternTransform="rotate(${Math.round(rnd() * 180)})"><rect width="${period}" height="${period}" fill="${c0}"/><rect width="${period / 2}" height="${period}" fill="${c1}" opacity="0.5"/></pattern>`,
    checker: `<pattern id="bg" width="${period * 2}" height="${period * 2}" patternUnits="userSpaceOnUse"><rect width="${period * 2}" height="${period * 2}" fill="${c0}"/><rect width="${period}" height="${period}" fill="${c1}" opacity="0.4"/><rect x="${period}" y="${period}" width="${period}" height="${period}" fill="${c1}" opacity="0.4"/></pattern>`,
    noise: `<filter id="grain"><feTurbulence type="fractalNoise" baseFrequency="${(0.01 + rnd() * 0.05).toFixed(3)}" numOctaves="3" seed="${Math.round(rnd() * 100)}"/><feColorMatrix type="saturate" values="0.3"/></filter>`,
  }[kind];
  const fill = kind === 'noise' ? `<rect width="${w}" height="${h}" fill="${c0}"/><rect width="${w}" height="${h}" filter="url(#grain)" opacity="0.6"/>` : `<rect width="${w}" height="${h}" fill="url(#bg)"/>`;
  return { defs, fill };
}

/** One scene: shapes that do not overlap, so each polygon is exactly its instance's visible outline. */
function scene(index, rnd) {
  const width = 320 + Math.round(rnd() * 12) * 10;
  const height = 240 + Math.round(rnd() * 12) * 10;
  const bg = background(['gradient', 'stripes', 'checker', 'noise'][index % 4], width, height, rnd);
  const placed = [];
  const count = 3 + Math.floor(rnd() * 4);
  for (let tries = 0; placed.length < count && tries < 200; tries++) {
    const r = 18 + rnd() * 42;
    const cx = r + rnd() * (width - 2 * r);
    const cy = r + rnd() * (height - 2 * r);
    if (placed.some((p) => Math.hypot(p.cx - cx, p.cy - cy) < p.r + r + 6)) continue;
    const kind = CLASSES[(index + placed.length) % 4];
    placed.push({ kind, cx, cy, r, points: outline(kind, cx, cy, r, rnd() * Math.PI * 2, rnd), colour: hex([rnd() * 255, rnd() * 255, rnd() * 255]) });
  }
  const shapes = placed.map((p) => `<polygon points="${p.points.map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`).join(' ')}" fill="${p.colour}" stroke="${p.colour}" stroke-width="0.5"/>`);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs>${bg.defs}</defs>${bg.fill}${shapes.join('')}</svg>`;
  return { width, height, svg, placed };
}

const files = [
  'street.jpg', 'garden.jpg', 'tiles.jpg', 'sand.jpg', 'poster.png', 'fabric.webp', 'kitchen/table.jpg',
  'kitchen/floor.jpg', 'wall.jpg', 'rotated-exif6.jpg',
];

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'kitchen'), { recursive: true });
const rnd = random(20261125);
const coco = { info: { description: 'Loupe sample scenes: ground truth, polygons in displayed (EXIF-rotated) pixels' }, images: [], annotations: [], categories: CLASSES.map((name, i) => ({ id: i + 1, name, supercategory: 'shape' })) };
for (const [i, file] of files.entries()) {
  const { width, height, svg, placed } = scene(i, rnd);
  let image = sharp(Buffer.from(svg)).flatten();
  if (file.includes('exif6')) {
    // Stored turned a quarter counter-clockwise; EXIF orientation 6 tells viewers to turn it back.
    image = sharp(await image.rotate(270).jpeg({ quality: 85 }).toBuffer()).withMetadata({ orientation: 6 });
  }
  const format = file.endsWith('.png') ? 'png' : file.endsWith('.webp') ? 'webp' : 'jpeg';
  await image.toFormat(format, format === 'png' ? { palette: true } : { quality: 85 }).toFile(join(out, file));
  coco.images.push({ id: i + 1, file_name: file, width, height });
  for (const p of placed) {
    const xs = p.points.map(([x]) => x);
    const ys = p.points.map(([, y]) => y);
    const bbox = [Math.min(...xs), Math.min(...ys), Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)];
    coco.annotations.push({
      id: coco.annotations.length + 1, image_id: i + 1, category_id: CLASSES.indexOf(p.kind) + 1, iscrowd: 0,
      segmentation: [p.points.flat().map((v) => Math.round(v * 100) / 100)], bbox: bbox.map((v) => Math.round(v * 100) / 100),
      area: Math.round(polygonArea(p.points) * 100) / 100,
    });
  }
}
writeFileSync(join(out, 'annotations.json'), `${JSON.stringify(coco)}\n`);
console.log(`wrote ${files.length} images and annotations.json (${coco.annotations.length} instances) to ${out}`);

function polygonArea(points) {
  let sum = 0;
  points.forEach(([x, y], i) => {
    const [nx, ny] = points[(i + 1) % points.length];
    sum += x * ny - nx * y;
  });
  return Math.abs(sum) / 2;
}
