// Random and malformed IPC traffic against the whole main side (`loupe serve`'s stack over a real project):
// through the dispatcher and through the bridge's WebSocket, nothing crashes, every message is answered, and the
// project database does not change.
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channels, ERROR_CODES, isChannel, MAX_PAYLOAD_BYTES, type Reply, type ServerMessage } from '../../app/ipc/contract.js';
import { serveFolder, type Serving } from '../bridge/serve.js';
import { databaseDigest } from '../testing/database.test-support.js';
import { diffOf } from '../../app/history/diff.js';

const samples = fileURLToPath(new URL('../../resources/samples/', import.meta.url));
const MESSAGES = 10_000;

let work: string;
let serving: Serving;
let dbPath: string;
let digestBefore: string;
const unexpected: string[] = [];

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'loupe-fuzz-'));
  const folder = path.join(work, 'images');
  await cp(samples, folder, { recursive: true, filter: (src) => !src.includes('.loupe') });
  const renderer = path.join(work, 'renderer');
  await mkdir(renderer);
  await writeFile(path.join(renderer, 'index.html'), '<!doctype html><title>Loupe</title>');
  serving = await serveFolder(folder, { rendererDir: renderer, userModelDir: path.join(work, 'models'), log: (m) => unexpected.push(m) });
  const store = serving.services.project.current()!;
  dbPath = store.dbPath;
  const [category] = store.categories.ensure(['thing']);
  const image = store.images.list({ limit: 1 }).items[0]!;
  store.annotations.apply(image.id, diffOf({
    added: [{ id: 'kept' as never, imageId: image.id, categoryId: category!.id, bbox: [1, 2, 3, 4], mask: null, score: null, origin: 'human', modelId: null, state: 'accepted' }],
  }));
  digestBefore = databaseDigest(dbPath);
});

afterAll(async () => {
  await serving?.close();
  await rm(work, { recursive: true, force: true });
});

const channelNames = Object.keys(channels);

/** Requests of the right shape for each channel, for the mutations below to start from. */
const templates: Record<string, unknown> = {
  'project.open': { folder: 'forgedHandleForgedHand' },
  'images.list': { limit: 10, after: null, filter: { status: 'new', search: 'a' } },
  'images.get': { id: 1 },
  'images.setStatus': { id: 1, status: 'reviewed' },
  'images.nextToReview': { afterPath: null },
  'annotations.list': { imageId: 1 },
  'annotations.apply': { imageId: 1, changes: { added: [], updated: [], removed: [] } },
  'categories.create': { name: 'x' },
  'models.import': { kind: 'card', onnx: 'forgedHandleForgedHand', card: 'forgedHandleForgedHan2' },
  'models.download': { url: 'https://example.invalid/m.onnx', form: { name: 'm', format: 'torchvision-maskrcnn', labels: ['a'] } },
  'models.cancelDownload': { downloadId: 1 },
  'prelabel.start': { threshold: 0.5 },
  'prelabel.pause': { runId: 1 },
  'export.coco': { reviewedOnly: true },
  'files.choose': { purpose: 'export-coco' },
};

/** One field of a valid-looking request replaced, dropped, or joined by a stranger. */
const mutated = fc
  .tuple(fc.constantFrom(...Object.keys(templates)), fc.jsonValue(), fc.nat(), fc.constantFrom('replace', 'drop', 'extra'))
  .map(([channel, value, pick, how]) => {
    const request = { ...(templates[channel] as Record<string, unknown>) };
    const keys = Object.keys(request);
    const key = keys[pick % keys.length]!;
    if (how === 'replace') request[key] = value;
    else if (how === 'drop') delete request[key];
    else request[`extra${pick}`] = value;
    return { channel, request };
  });

const anyChannel = fc.oneof(
  fc.constantFrom(...channelNames),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prelabel', 'images.', ''),
);

/** Messages that must never reach a handler: unknown channels, or requests their channel's schema refuses. */
const malformed = fc
  .oneof(
    fc.record({ channel: anyChannel, request: fc.jsonValue() }),
    fc.record({ channel: anyChannel, request: fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue()) }),
    mutated,
  )
  .filter(({ channel, request }) => !isChannel(channel) || !channels[channel].req.safeParse(request ?? {}).success);

function expectRefusal(reply: Reply<unknown>): void {
  expect(reply.ok).toBe(false);
  if (reply.ok) return;
  expect(ERROR_CODES).toContain(reply.error.code);
  expect(['invalid-request', 'unknown-channel', 'too-large']).toContain(reply.error.code);
  expect(typeof reply.error.message).toBe('string');
}

describe('IPC fuzzing', () => {
  it(`answers ${MESSAGES} malformed requests through the dispatcher with a refusal, changing nothing`, async () => {
    const samples = fc.sample(malformed, MESSAGES);
    // Values JSON cannot carry reach the dispatcher from Electron's structured clone: add some of those too.
    const exotic = fc.sample(fc.record({ channel: anyChannel, request: fc.anything() }), 500)
      .filter(({ channel, request }) => !isChannel(channel) || !channels[channel].req.safeParse(request ?? {}).success);
    for (const { channel, request } of [...samples, ...exotic]) expectRefusal(await serving.dispatch(channel, request));
    expect(databaseDigest(dbPath)).toBe(digestBefore);
    expect(unexpected).toEqual([]);
  });

  it(`answers ${MESSAGES} malformed messages over the bridge's WebSocket, each under its id, and keeps serving`, async () => {
    const ws = await new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${serving.bridge.port}/ipc`, { headers: { cookie: serving.bridge.newSession() } });
      socket.once('open', () => resolve(socket));
      socket.once('error', reject);
    });
    try {
      const replies = new Map<number, Reply<unknown>>();
      const anonymous: Reply<unknown>[] = [];
      let arrived: () => void = () => {};
      ws.on('message', (data) => {
        const message = JSON.parse(String(data)) as ServerMessage;
        if (message.kind !== 'reply') return;
        if (message.id === -1) anonymous.push(message.reply);
        else replies.set(message.id, message.reply);
        arrived();
      });
      const requests = fc.sample(malformed, MESSAGES).map((m, i) => JSON.stringify({ id: i + 1, ...m }));
      // Frames that are not a request at all: no id to answer under, so they are answered under -1.
      const garbage = [
        ...fc.sample(fc.string({ maxLength: 200 }).filter((s) => !isJsonObjectWithId(s)), 300),
        JSON.stringify({ channel: 'images.get', request: { id: 1 } }),
        'x'.repeat(MAX_PAYLOAD_BYTES + 1),
      ];
      for (let i = 0; i < requests.length; i += 500) {
        for (const raw of requests.slice(i, i + 500)) ws.send(raw);
        await new Promise<void>((resolve) => {
          arrived = () => replies.size >= Math.min(i + 500, requests.length) && resolve();
          arrived();
        });
      }
      for (const raw of garbage) ws.send(raw);
      await new Promise<void>((resolve) => {
        arrived = () => anonymous.length >= garbage.length && resolve();
        arrived();
      });
      expect(replies.size).toBe(MESSAGES);
      for (const reply of [...replies.values(), ...anonymous]) expectRefusal(reply);
      expect(anonymous.at(-1)).toMatchObject({ ok: false, error: { code: 'too-large' } });

      // Still serving, on the same connection.
      ws.send(JSON.stringify({ id: MESSAGES + 1, channel: 'categories.list', request: {} }));
      await new Promise<void>((resolve) => {
        arrived = () => replies.has(MESSAGES + 1) && resolve();
        arrived();
      });
      expect(replies.get(MESSAGES + 1)).toMatchObject({ ok: true, value: { categories: [{ name: 'thing' }] } });
      expect(databaseDigest(dbPath)).toBe(digestBefore);
      expect(unexpected).toEqual([]);
    } finally {
      ws.close();
    }
  });

  it('answers well-formed requests with hostile values on every channel that reads or refuses, changing nothing', async () => {
    const hostileText = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.constantFrom("'; DROP TABLE images; --", '%', '_', '\\', '\u0000', '../../etc/passwd', '\uD800', 'IMG_%_\\%'),
    );
    const missingId = fc.integer({ min: 1_000_000, max: 2 ** 31 - 1 });
    const hostile = fc.oneof(
      fc.record({ channel: fc.constant('images.get'), request: fc.record({ id: missingId }) }),
      fc.record({ channel: fc.constant('annotations.list'), request: fc.record({ imageId: missingId }) }),
      fc.record({ channel: fc.constant('images.setStatus'), request: fc.record({ id: missingId, status: fc.constantFrom('new', 'reviewed', 'error') }) }),
      fc.record({
        channel: fc.constant('images.list'),
        request: fc.record({ limit: fc.integer({ min: 1, max: 1000 }), after: fc.option(hostileText), filter: fc.record({ search: hostileText }) }),
      }),
      fc.record({ channel: fc.constant('images.nextToReview'), request: fc.record({ afterPath: fc.option(hostileText) }) }),
      // Handles main never handed out: well formed, refused as not found.
      fc.record({ channel: fc.constant('project.open'), request: fc.record({ folder: fc.stringMatching(/^[A-Za-z0-9_-]{22}$/) }) }),
      fc.record({
        channel: fc.constant('annotations.apply'),
        request: fc.record({
          imageId: missingId,
          changes: fc.record({ added: fc.constant([]), updated: fc.constant([]), removed: fc.array(fc.uuid().map((id) => ({ ...annotationLike, id })), { maxLength: 3 }) }),
        }),
      }),
      fc.record({ channel: fc.constant('prelabel.pause'), request: fc.record({ runId: missingId }) }),
      fc.record({ channel: fc.constant('prelabel.cancel'), request: fc.record({ runId: missingId }) }),
      fc.record({ channel: fc.constant('models.cancelDownload'), request: fc.record({ downloadId: missingId }) }),
    );
    for (const { channel, request } of fc.sample(hostile, 2_000)) {
      expect(channels[channel as keyof typeof channels].req.safeParse(request).success).toBe(true);
      const reply = await serving.dispatch(channel, request);
      expect(typeof reply.ok).toBe('boolean');
    }
    expect(databaseDigest(dbPath)).toBe(digestBefore);
    expect(unexpected).toEqual([]);
  });
});

const annotationLike = {
  imageId: 1_000_000, categoryId: 1, bbox: [0, 0, 1, 1], mask: null, score: null, origin: 'human', modelId: null, state: 'accepted',
};

function isJsonObjectWithId(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'number';
  } catch {
    return false;
  }
}
