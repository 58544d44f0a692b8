// Every case of the bad-input corpus (corpus.test-support.ts) through Loupe's real entry points: the built `loupe`
// command in its own process, the bridge of `loupe serve` over HTTP and its WebSocket, the IPC dispatcher. Each
// answer must be exactly the corpus's, with its exit status, HTTP status or IPC error code, and the project's
// database must not change (a digest of every row before and after).
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffOf } from '../../../app/history/diff.js';
import type { Reply, ServerMessage } from '../../../app/ipc/contract.js';
import { serveFolder, type Serving } from '../../bridge/serve.js';
import { runLoupe, type CliRun } from '../../cli/cli.test-support.js';
import { writeImage } from '../../fs/images.test-support.js';
import { importCocoFile, scanFolder } from '../../fs/index.js';
import { defaultDbPath, openProject } from '../../store/index.js';
import { databaseDigest } from '../database.test-support.js';
import { PROJECT_IMAGES, README_END, README_START, REFUSALS, refusalsTable, type CorpusDirs, type RefusalCase } from './corpus.test-support.js';

const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

let root: string;
let dirs: CorpusDirs;
let serving: Serving;
let socket: WebSocket;
/** What main's file dialog answers next (see withChosenFiles). */
let chosenPath: string | null = null;
const logged: string[] = [];
/** `loupe scan --verify` of the images folder, the plain rescan after it, and `loupe stats --json`. */
let scans: { first: CliRun; again: CliRun; stats: CliRun; digestAfterFirst: string; digestAfterAgain: string };

const placeholders = (): Record<string, string> => ({
  '{images}': dirs.images, '{outside}': dirs.outside, '{project}': dirs.project, '{inputs}': dirs.inputs, '{served}': dirs.served,
});
const expand = (text: string) => Object.entries(placeholders()).reduce((t, [key, value]) => t.replaceAll(key, value), text);
const expandDeep = (value: unknown): unknown =>
  typeof value === 'string' ? expand(value)
  : Array.isArray(value) ? value.map(expandDeep)
  : value !== null && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandDeep(v)]))
  : value;

/** The corpus's message as a pattern: its folders filled in, `…` any text on the line, the rest exact. */
function pattern(message: string): RegExp {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${expand(message).split('…').map(escape).join('[^\\n]+')}$`);
}

/** `  <path>: <reason>` lines of a scan's output, by path. */
function listedReasons(stdout: string): Map<string, string> {
  const reasons = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^ {2}(\S+): (.*)$/.exec(line);
    if (match) reasons.set(match[1]!, match[2]!);
  }
  return reasons;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'loupe-bad-input-'));
  dirs = {
    images: path.join(root, 'images'), outside: path.join(root, 'outside'), project: path.join(root, 'project'),
    inputs: path.join(root, 'inputs'), served: path.join(root, 'served'),
  };
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });
  await writeImage(dirs.images, 'good.jpg', { width: 64, height: 48 });
  for (const [name, [width, height]] of Object.entries(PROJECT_IMAGES)) await writeImage(dirs.project, name, { width, height });
  await writeFile(path.join(dirs.project, 'c.png'), '<html><body>Not here</body></html>\n');
  await writeImage(dirs.served, 'good.png', { width: 64, height: 48 });
  for (const c of REFUSALS) await c.make?.(dirs);

  // A project holding a person's annotation, which every refused command must leave as it is.
  const person = path.join(root, 'person.json');
  await writeFile(person, JSON.stringify({
    images: [{ id: 1, file_name: 'a.png', width: 64, height: 48 }],
    categories: [{ id: 1, name: 'circle' }],
    annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], segmentation: [[10, 10, 30, 10, 30, 30]] }],
  }));
  const store = openProject(dirs.project);
  try {
    await scanFolder(store);
    await importCocoFile(store, person);
  } finally {
    store.close();
  }

  const first = runLoupe(['scan', dirs.images, '--verify']);
  const digestAfterFirst = databaseDigest(defaultDbPath(dirs.images));
  const again = runLoupe(['scan', dirs.images]);
  scans = { first, again, stats: runLoupe(['stats', dirs.images, '--json']), digestAfterFirst, digestAfterAgain: databaseDigest(defaultDbPath(dirs.images)) };

  const renderer = path.join(root, 'renderer');
  await mkdir(renderer);
  await writeFile(path.join(renderer, 'index.html'), '<!doctype html><title>Loupe</title>');
  serving = await serveFolder(dirs.served, {
    rendererDir: renderer, userModelDir: path.join(root, 'user-models'), log: (m) => logged.push(m),
    // main's file dialog, as the person would answer it for the case at hand
    chooseFile: () => Promise.resolve(chosenPath),
  });
  const served = serving.services.project.current()!;
  const [circle] = served.categories.ensure(['circle']);
  const good = served.images.getByPath('good.png')!;
  served.annotations.apply(good.id, diffOf({
    added: [{ id: 'a-person-drew-this' as never, imageId: good.id, categoryId: circle!.id, bbox: [1, 2, 30, 20], mask: null, score: null, origin: 'human', modelId: null, state: 'accepted' }],
  }));
  socket = await new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${serving.bridge.port}/ipc`, { headers: { cookie: serving.bridge.newSession() } });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
});

afterAll(async () => {
  socket?.close();
  await serving?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

function get(urlPath: string, withSession: boolean): Promise<{ status: number; body: string }> {
  const { port } = serving.bridge;
  const headers: Record<string, string> = { host: `127.0.0.1:${port}` };
  if (withSession) headers.cookie = serving.bridge.newSession();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: urlPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends one raw frame and waits for the reply answering it (under -1 when the frame had no id to answer under). */
function sendFrame(frame: string): Promise<Reply<unknown>> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const message = JSON.parse(String(data)) as ServerMessage;
      if (message.kind !== 'reply') return;
      socket.off('message', onMessage);
      resolve(message.reply);
    };
    socket.on('message', onMessage);
    socket.send(frame);
  });
}

const servedDigest = () => databaseDigest(serving.services.project.current()!.dbPath);

async function checkCase(c: RefusalCase): Promise<void> {
  const entry = c.entry;
  switch (entry.via) {
    case 'scan': {
      const listed = listedReasons(scans.first.stdout);
      const relisted = listedReasons(scans.again.stdout);
      if (c.outcome === 'accepted') {
        expect(listed.has(entry.file), `${entry.file} should not be listed`).toBe(false);
        const db = new Database(defaultDbPath(dirs.images), { readonly: true });
        try {
          const row = db.prepare(`SELECT width || ' x ' || height AS size, status FROM images WHERE path = ?`).get(entry.file);
          expect(row).toEqual({ size: c.message, status: 'new' });
        } finally {
          db.close();
        }
        return;
      }
      expect(listed.get(entry.file)).toMatch(pattern(c.message));
      // A plain rescan reads nothing again and still says it; `loupe stats` lists it with the same reason.
      expect(relisted.get(entry.file)).toMatch(pattern(c.message));
      if (!c.id.startsWith('link-')) {
        const stats = JSON.parse(scans.stats.stdout) as { failed: { path: string; stage: string; reason: string }[] };
        expect(stats.failed.find((f) => f.path === entry.file)).toEqual({ imageId: expect.any(Number), path: entry.file, stage: 'scan', reason: expect.stringMatching(pattern(c.message)) });
      }
      expect(scans.first.status).toBe(c.outcome);
      expect(scans.again.status).toBe(c.outcome);
      expect(scans.digestAfterAgain).toBe(scans.digestAfterFirst);
      return;
    }
    case 'cli': {
      const dbPath = defaultDbPath(dirs.project);
      const before = databaseDigest(dbPath);
      const run = runLoupe(entry.args.map(expand));
      const [first, ...details] = run.stderr.replace(/\n$/, '').split('\n');
      expect({ status: run.status, stdout: run.stdout }).toEqual({ status: c.outcome, stdout: '' });
      expect(first).toMatch(pattern(c.message));
      expect(details).toHaveLength(c.detailLines ?? 0);
      expect(databaseDigest(dbPath)).toBe(before);
      return;
    }
    case 'http': {
      const before = servedDigest();
      const { status, body } = await get(entry.path, entry.session !== false);
      expect({ status, body }).toEqual({ status: c.outcome, body: expect.stringMatching(pattern(c.message)) });
      expect(servedDigest()).toBe(before);
      return;
    }
    case 'ipc':
    case 'ws': {
      const before = servedDigest();
      const reply = entry.via === 'ipc' ? await serving.dispatch(entry.channel, await withChosenFiles(entry)) : await sendFrame(entry.frame);
      expect(reply).toEqual({ ok: false, error: { code: c.outcome, message: expect.stringMatching(pattern(c.message)) } });
      expect(servedDigest()).toBe(before);
    }
  }
}

/** The case's request, each chosen file picked through `files.choose` and given as the handle main hands out for it. */
async function withChosenFiles(entry: Extract<RefusalCase['entry'], { via: 'ipc' }>): Promise<unknown> {
  const request = expandDeep(entry.request) as Record<string, unknown>;
  for (const [field, { purpose, path: file }] of Object.entries(entry.chosen ?? {})) {
    chosenPath = expand(file);
    const reply = await serving.dispatch('files.choose', { purpose });
    chosenPath = null;
    if (!reply.ok) throw new Error(`files.choose ${purpose}: ${reply.error.message}`);
    request[field] = (reply.value as { file: { handle: string } }).file.handle;
  }
  return request;
}

describe('the bad-input corpus', () => {
  it('has at least 40 cases, each with its own id', () => {
    expect(REFUSALS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(REFUSALS.map((c) => c.id)).size).toBe(REFUSALS.length);
  });

  it.each(REFUSALS.map((c) => [c.id, c] as const))('%s', async (_, c) => {
    await checkCase(c);
    // Nothing went wrong on the way that only a log would show (a stack trace, a 500).
    expect(logged).toEqual([]);
  });

  it('scan, rescan and stats agree: every image in error is listed, each once, with the count', () => {
    const inError = REFUSALS.filter((c) => c.entry.via === 'scan' && c.outcome === 0 && !c.id.startsWith('link-')).length;
    const stats = JSON.parse(scans.stats.stdout) as { byStatus: { error: number }; failed: { stage: string }[] };
    expect(stats.byStatus.error).toBe(inError);
    expect(stats.failed.filter((f) => f.stage === 'scan')).toHaveLength(inError);
    const links = REFUSALS.filter((c) => c.id.startsWith('link-')).length;
    for (const run of [scans.first, scans.again]) {
      expect(run.stdout).toContain(`, ${inError} unreadable, ${links} links out of the folder not followed)`);
      expect(run.stderr).toBe('');
    }
  });

  it("README.md's \"What Loupe refuses\" table is the corpus's (run `npm run docs:refusals` after changing it)", async () => {
    const readme = await readFile(README, 'utf8');
    const start = readme.indexOf(README_START);
    expect(start, 'README.md has the table markers').toBeGreaterThanOrEqual(0);
    expect(readme.slice(start, readme.indexOf(README_END) + README_END.length)).toBe(refusalsTable());
  });
});
