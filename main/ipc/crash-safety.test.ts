// Review edits survive kill -9: a child process applies edits through the real IPC dispatcher and is killed at
// random points, 50 times; after each kill every edit main acknowledged is in the database, the one in flight is
// there whole or not at all, and SQLite's integrity check passes.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Diff } from '../../app/history/diff.js';
import type { Annotation } from '../../app/model/index.js';
import { writeImage } from '../fs/images.test-support.js';
import { scanFolder } from '../fs/index.js';
import { openProject } from '../store/index.js';

const CHILD = fileURLToPath(new URL('../testing/edit-and-ack.child.mjs', import.meta.url));
const KILLS = 50;
const SEED = process.env.CRASH_SEED !== undefined ? Number(process.env.CRASH_SEED) : Math.floor(Math.random() * 2 ** 31);

type Boxes = Map<string, readonly number[]>;
type Sent = { readonly type: 'sending'; readonly seq: number; readonly changes: Diff<Annotation> };
type Acked = { readonly type: 'acked'; readonly seq: number };

let folder: string;
beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'loupe-crash-'));
  await writeImage(folder, 'a.png', { width: 200, height: 150 });
  const store = openProject(folder);
  await scanFolder(store);
  store.close();
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function applied(boxes: Boxes, changes: Diff<Annotation>): Boxes {
  const next = new Map(boxes);
  for (const a of changes.removed) next.delete(a.id);
  for (const { after } of changes.updated) next.set(after.id, after.bbox);
  for (const a of changes.added) next.set(a.id, a.bbox);
  return next;
}

/** Runs the editing child until it has `acks` acknowledgements (then a few ms more), kills it, and returns what it said. */
async function editAndKill(seed: number, acks: number, graceMs: number): Promise<(Sent | Acked)[]> {
  const child = spawn(process.execPath, [CHILD, folder, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const said: (Sent | Acked)[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  const closed = new Promise<void>((resolve) => lines.once('close', resolve));
  let acked = 0;
  lines.on('line', (line) => {
    const message = JSON.parse(line) as Sent | Acked;
    said.push(message);
    if (message.type === 'acked' && ++acked === acks) setTimeout(() => child.kill('SIGKILL'), graceMs);
  });
  const [, signal] = await Promise.all([closed, new Promise((resolve) => child.once('exit', (_code, s) => resolve(s)))]);
  expect(signal, `the editing child ended on its own: ${stderr}`).toBe('SIGKILL');
  return said;
}

function stored(dbPath: string): { boxes: Boxes; integrity: unknown } {
  const db = new Database(dbPath);
  try {
    const rows = db.prepare(`SELECT id, x, y, w, h FROM annotations`).all() as { id: string; x: number; y: number; w: number; h: number }[];
    return { boxes: new Map(rows.map((r) => [r.id, [r.x, r.y, r.w, r.h]])), integrity: db.pragma('integrity_check', { simple: true }) };
  } finally {
    db.close();
  }
}

it(`keeps every acknowledged edit and a sound database through ${KILLS} kill -9s mid-edit (seed ${SEED}, CRASH_SEED replays)`, async () => {
  let random = SEED >>> 0;
  const next = (n: number) => {
    random = (random * 1664525 + 1013904223) >>> 0;
    return random % n;
  };
  const dbPath = join(folder, '.loupe', 'project.db');
  let expected: Boxes = new Map();
  let inFlightKept = 0;
  for (let round = 0; round < KILLS; round++) {
    const said = await editAndKill(SEED + round, 1 + next(8), next(12));
    const acked = new Set(said.filter((m) => m.type === 'acked').map((m) => m.seq));
    const sent = said.filter((m): m is Sent => m.type === 'sending');
    for (const message of sent.filter((m) => acked.has(m.seq))) expected = applied(expected, message.changes);
    const inFlight = sent.find((m) => !acked.has(m.seq));

    const { boxes, integrity } = stored(dbPath);
    const context = `round ${round} of seed ${SEED}`;
    expect(integrity, context).toBe('ok');
    // The edit in flight at the kill is atomic: all of it is stored, or none of it.
    if (inFlight && sameBoxes(boxes, applied(expected, inFlight.changes))) {
      expected = applied(expected, inFlight.changes);
      inFlightKept++;
    }
    expect(Object.fromEntries(boxes), context).toEqual(Object.fromEntries(expected));
  }
  expect(expected.size).toBeGreaterThan(KILLS);
  // Kills landed both before and after the commit of the edit in flight (reported, not required).
  console.log(`${KILLS} kills: ${expected.size} annotations stored, ${inFlightKept} in-flight edits found whole`);
}, 300_000);

function sameBoxes(a: Boxes, b: Boxes): boolean {
  return a.size === b.size && [...a].every(([id, box]) => b.get(id)?.every((v, i) => v === box[i]) ?? false);
}
