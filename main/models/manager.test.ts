import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChecksumMismatchError, type DownloadSettings } from './download.js';
import { startHttpsServer, type TestHttpsServer } from './fixtures/https-server.js';
import {
  downloadModel, importWithCard, importWithForm, importXAnyLabeling, listModels,
  ModelExistsError, ModelImportError, slugify,
  type ModelChecks,
} from './manager.js';
import { readGraphNames, verifyModel } from '../untrusted/models.js';

/** The checks run in this process, as the untrusted-files process runs them. */
const checks: ModelChecks = { graphNames: readGraphNames, verify: verifyModel };

const fixtureScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tiny_rcnn.py');
let base: string;
let maskOnnx: string;
let zooOnnx: string;
let server: TestHttpsServer;
let origin: string;
/** Trust the tests' self-signed local server, and nothing else. */
let settings: DownloadSettings;
let requested = 0;

const card = {
  name: 'Shapes v1',
  format: 'torchvision-maskrcnn',
  labels: ['__background__', 'circle', 'square'],
  input: { name: 'images', minSize: 320, maxSize: 640 },
  outputs: { boxes: 'boxes', labels: 'labels', scores: 'scores', masks: 'masks' },
  thresholds: { score: 0.4, mask: 0.5 },
  metrics: { maskAP50: 0.91, boxAP50: 0.95 },
};

function makeOnnx(file: string, ...args: string[]): string {
  execFileSync('/usr/bin/python3', [fixtureScript, file, ...args]);
  return file;
}

beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'loupe-models-'));
  await mkdir(path.join(base, 'in'));
  maskOnnx = makeOnnx(path.join(base, 'in', 'shapes.onnx'));
  zooOnnx = makeOnnx(path.join(base, 'in', 'zoo.onnx'), '--input', 'image', '--outputs', '6568,6570,6572,6887');
  await writeFile(path.join(base, 'in', 'shapes.json'), JSON.stringify(card));
  server = await startHttpsServer((req, res) => {
    requested += 1;
    if (req.url !== '/zoo.onnx') return void res.writeHead(404).end();
    void readFile(zooOnnx).then((body) => res.writeHead(200, { 'Content-Length': body.length }).end(body));
  });
  origin = server.origin;
  settings = { trustedCertificates: server.certificate, allowPrivateHosts: true };
});

afterAll(async () => {
  await server.close();
  await rm(base, { recursive: true, force: true });
});

async function freshTarget(name: string) {
  return { dir: path.join(base, name), source: 'user' as const };
}

describe('model manager', () => {
  it('imports an .onnx with its card, records the copy and its sha256, and lists it', async () => {
    const target = await freshTarget('import-card');
    const entry = await importWithCard(maskOnnx, path.join(base, 'in', 'shapes.json'), target, checks);
    expect(entry).toMatchObject({
      source: 'user', name: 'Shapes v1', format: 'torchvision-maskrcnn', classes: ['circle', 'square'],
      thresholds: { score: 0.4, mask: 0.5 }, metrics: { maskAP50: 0.91, boxAP50: 0.95 },
      onnxPath: path.join(target.dir, 'shapes-v1.onnx'), cardPath: path.join(target.dir, 'shapes-v1.json'),
    });
    const written = JSON.parse(await readFile(entry.cardPath, 'utf8'));
    expect(written.onnx).toBe('shapes-v1.onnx');
    expect(written.sha256).toBe(createHash('sha256').update(await readFile(maskOnnx)).digest('hex'));
    expect(entry.bytes).toBe((await stat(maskOnnx)).size);

    const listing = await listModels([{ source: 'user', dir: target.dir }]);
    expect(listing.problems).toEqual([]);
    expect(listing.models).toEqual([entry]);
  });

  it('never overwrites: a second import under the same name is refused and the first stays', async () => {
    const target = await freshTarget('twice');
    const first = await importWithCard(maskOnnx, path.join(base, 'in', 'shapes.json'), target, checks);
    const before = await readFile(first.cardPath, 'utf8');
    const again = importWithForm(zooOnnx, { name: 'Shapes v1', format: 'onnx-zoo-maskrcnn', labels: ['x'] }, target, checks);
    await expect(again).rejects.toBeInstanceOf(ModelExistsError);
    await expect(again).rejects.toThrow(`${first.onnxPath} already exists; it is never overwritten`);
    expect(await readFile(first.cardPath, 'utf8')).toBe(before);
    expect((await readdir(target.dir)).sort()).toEqual(['shapes-v1.json', 'shapes-v1.onnx']);
  });

  it('refuses a card whose outputs are not in the graph, naming them, and leaves nothing behind', async () => {
    const target = await freshTarget('mismatch');
    const wrongCard = path.join(base, 'in', 'wrong.json');
    await writeFile(wrongCard, JSON.stringify({ ...card, name: 'wrong', outputs: { ...card.outputs, masks: 'segm' } }));
    const attempt = importWithCard(maskOnnx, wrongCard, target, checks);
    await expect(attempt).rejects.toBeInstanceOf(ModelImportError);
    await expect(attempt).rejects.toThrow(/import refused: .*output 'segm' named by the card is not in the graph/);
    expect(await readdir(target.dir)).toEqual([]);
  });

  it('refuses an invalid card file with the file name and the field', async () => {
    const target = await freshTarget('invalid-card');
    const bad = path.join(base, 'in', 'bad.json');
    await writeFile(bad, JSON.stringify({ ...card, labels: ['__background__'] }));
    await expect(importWithCard(maskOnnx, bad, target, checks)).rejects.toThrow(`${bad}: invalid model card: labels: needs the background`);
    await writeFile(bad, '{ not json');
    await expect(importWithCard(maskOnnx, bad, target, checks)).rejects.toThrow(`${bad}: cannot read the card`);
  });

  it('builds the card from a form, taking tensor names from the graph', async () => {
    const target = await freshTarget('form');
    const entry = await importWithForm(zooOnnx, { name: 'COCO zoo', format: 'onnx-zoo-maskrcnn', labels: ['person', 'car'], scoreThreshold: 0.6 }, target, checks);
    const written = JSON.parse(await readFile(entry.cardPath, 'utf8'));
    expect(written.input).toMatchObject({ name: 'image', channels: 'BGR', sizeDivisor: 32 });
    expect(written.outputs).toEqual({ boxes: '6568', labels: '6570', scores: '6572', masks: '6887' });
    expect(entry.classes).toEqual(['person', 'car']);
    expect(entry.thresholds.score).toBe(0.6);
  });

  it('refuses a file that is not an ONNX model', async () => {
    const target = await freshTarget('not-onnx');
    const fake = path.join(base, 'in', 'fake.onnx');
    await writeFile(fake, 'this is text');
    await expect(importWithForm(fake, { name: 'f', format: 'torchvision-maskrcnn', labels: ['a'] }, target, checks)).rejects.toThrow(
      `${fake}: not a loadable ONNX model`,
    );
  });

  it('imports from an X-AnyLabeling config with a model file beside it', async () => {
    const target = await freshTarget('xal');
    const yaml = path.join(base, 'in', 'shapes.yaml');
    await writeFile(yaml, 'type: mask_rcnn\nname: shapes-xal\nmodel_path: shapes.onnx\nscore_threshold: 0.3\nnms_threshold: 0.5\nclasses: [circle, square]\n');
    const { entry, ignored } = await importXAnyLabeling(yaml, target, checks);
    expect(entry).toMatchObject({ name: 'shapes-xal', format: 'torchvision-maskrcnn', classes: ['circle', 'square'] });
    expect(entry.thresholds.score).toBe(0.3);
    expect(ignored).toEqual(['nms_threshold: the graph does its own non-maximum suppression']);
  });

  it('imports from an X-AnyLabeling config whose model_path is a URL, downloading it when its sha256 is given', async () => {
    const target = await freshTarget('xal-url');
    const yaml = path.join(base, 'in', 'zoo.yaml');
    const sha256 = createHash('sha256').update(await readFile(zooOnnx)).digest('hex');
    await writeFile(yaml, `type: yolov8_seg\nname: zoo-dl\nmodel_path: ${origin}/zoo.onnx\nclasses: [person]\n`);
    await expect(importXAnyLabeling(yaml, target, checks)).rejects.toThrow(/type "yolov8_seg" has no Loupe format/);
    const before = requested;
    await expect(importXAnyLabeling(yaml, target, checks, { format: 'onnx-zoo-maskrcnn', settings })).rejects.toThrow(/a sha256 of the model file is required/);
    expect(requested).toBe(before);
    const { entry } = await importXAnyLabeling(yaml, target, checks, { format: 'onnx-zoo-maskrcnn', sha256, settings });
    expect(entry.onnxPath).toBe(path.join(target.dir, 'zoo-dl.onnx'));
    expect(entry.format).toBe('onnx-zoo-maskrcnn');
  });

  it('downloads a model with a sha256 check and progress; a wrong checksum leaves nothing', async () => {
    const target = await freshTarget('download');
    const sha = createHash('sha256').update(await readFile(zooOnnx)).digest('hex');
    const form = { name: 'Zoo download', format: 'onnx-zoo-maskrcnn', labels: ['person'] };
    await expect(downloadModel(`${origin}/zoo.onnx`, form, target, checks, { sha256: 'f'.repeat(64), settings })).rejects.toBeInstanceOf(ChecksumMismatchError);
    expect(await readdir(target.dir)).toEqual([]);

    const seen: number[] = [];
    const entry = await downloadModel(`${origin}/zoo.onnx`, form, target, checks, { sha256: sha.toUpperCase(), settings, onProgress: (p) => seen.push(p.received) });
    expect(seen.at(-1)).toBe(entry.bytes);
    expect(JSON.parse(await readFile(entry.cardPath, 'utf8')).sha256).toBe(sha);
    await expect(downloadModel(`${origin}/zoo.onnx`, form, target, checks, { sha256: sha, settings })).rejects.toBeInstanceOf(ModelExistsError);
  });

  it('refuses a download without a sha256 before fetching anything', async () => {
    const target = await freshTarget('download-no-sha');
    const before = requested;
    const form = { name: 'Unchecked', format: 'onnx-zoo-maskrcnn', labels: ['person'] };
    await expect(downloadModel(`${origin}/zoo.onnx`, form, target, checks, { settings })).rejects.toThrow(ModelImportError);
    await expect(downloadModel(`${origin}/zoo.onnx`, form, target, checks, { settings })).rejects.toThrow(/a sha256 of the model file is required/);
    expect(requested).toBe(before);
    expect(await stat(target.dir).then(() => true, () => false)).toBe(false);
  });

  it('lists every folder in order and reports unreadable cards without failing the listing', async () => {
    const shipped = path.join(base, 'shipped');
    await mkdir(shipped);
    await importWithCard(maskOnnx, path.join(base, 'in', 'shapes.json'), { dir: shipped, source: 'shipped' }, checks);
    await writeFile(path.join(shipped, 'broken.json'), '{');
    await writeFile(path.join(shipped, 'orphan.json'), JSON.stringify({ ...card, onnx: 'gone.onnx' }));
    const project = await freshTarget('list-project');
    await importWithForm(zooOnnx, { name: 'project zoo', format: 'onnx-zoo-maskrcnn', labels: ['p'] }, project, checks);

    const listing = await listModels([
      { source: 'shipped', dir: shipped },
      { source: 'user', dir: path.join(base, 'no-such-folder') },
      { source: 'project', dir: project.dir },
    ]);
    expect(listing.models.map((m) => [m.source, m.name])).toEqual([['shipped', 'Shapes v1'], ['project', 'project zoo']]);
    expect(listing.problems.map((p) => path.basename(p.file))).toEqual(['broken.json', 'orphan.json']);
    expect(listing.problems[0]!.message).toMatch(/not valid JSON/);
    expect(listing.problems[1]!.message).toMatch(/gone\.onnx is missing/);
  });

  it('makes file names from model names', () => {
    expect(slugify('Shapes v1')).toBe('shapes-v1');
    expect(slugify('Modèle à/..\\x')).toBe('modele-a-..-x');
    expect(slugify('../..')).toBe('model');
  });
});
