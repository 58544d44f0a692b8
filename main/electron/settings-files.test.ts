import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addRecent, loadRecent, MAX_RECENT, removeRecent, saveRecent } from './recent-projects.js';
import { DEFAULT_SIZE, loadWindowState, placeWindow, saveWindowState } from './window-state.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'loupe-settings-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('recent projects', () => {
  it('keeps the most recent first, without duplicates, at most MAX_RECENT', () => {
    let list: string[] = [];
    for (let i = 0; i < 12; i++) list = addRecent(list, `/p/${i}`, 'linux');
    expect(list).toHaveLength(MAX_RECENT);
    expect(list[0]).toBe('/p/11');
    list = addRecent(list, '/p/5', 'linux');
    expect(list.slice(0, 2)).toEqual(['/p/5', '/p/11']);
    expect(list.filter((p) => p === '/p/5')).toHaveLength(1);
    expect(addRecent(['C:\\Photos'], 'c:\\photos', 'win32')).toEqual(['c:\\photos']);
    expect(addRecent(['/Photos'], '/photos', 'linux')).toEqual(['/photos', '/Photos']);
    expect(removeRecent(['/a', '/b'], '/a')).toEqual(['/b']);
  });

  it('round-trips through its file, and a missing file is an empty list', async () => {
    const file = path.join(dir, 'sub', 'recent.json');
    expect(await loadRecent(file)).toEqual([]);
    await saveRecent(file, ['/a', '/b']);
    expect(await loadRecent(file)).toEqual(['/a', '/b']);
    expect((await readdir(path.dirname(file))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('sets a damaged file aside, says why, and starts empty', async () => {
    const file = path.join(dir, 'recent.json');
    await writeFile(file, '{"version":1,"folders":[3]}');
    const problems: string[] = [];
    expect(await loadRecent(file, (m) => problems.push(m))).toEqual([]);
    expect(problems[0]).toMatch(/recent\.json: folders\.0: .*moved to .*recent\.json\.bad-\d+/);
    const aside = (await readdir(dir)).find((n) => n.startsWith('recent.json.bad-'))!;
    expect(await readFile(path.join(dir, aside), 'utf8')).toBe('{"version":1,"folders":[3]}');
  });
});

describe('window state', () => {
  const screen = { x: 0, y: 0, width: 1920, height: 1040 };
  const second = { x: 1920, y: 0, width: 1280, height: 1024 };

  it('round-trips bounds and maximized through its file', async () => {
    const file = path.join(dir, 'window-state.json');
    expect(await loadWindowState(file)).toBeNull();
    await saveWindowState(file, { bounds: { x: 10.4, y: 20, width: 900, height: 700.6 }, maximized: true });
    expect(await loadWindowState(file)).toEqual({ bounds: { x: 10, y: 20, width: 900, height: 701 }, maximized: true });
    await writeFile(file, 'garbage');
    const problems: string[] = [];
    expect(await loadWindowState(file, (m) => problems.push(m))).toBeNull();
    expect(problems[0]).toMatch(/not valid JSON/);
  });

  it('opens at the default size the first time, shrunk to a small screen', () => {
    expect(placeWindow(null, [screen])).toEqual({ ...DEFAULT_SIZE, maximized: false });
    expect(placeWindow(null, [{ x: 0, y: 0, width: 1024, height: 700 }])).toEqual({ width: 1024, height: 700, maximized: false });
  });

  it('puts the window back where it was when a screen still shows its title bar', () => {
    const saved = { bounds: { x: 2000, y: 100, width: 1000, height: 800 }, maximized: false };
    expect(placeWindow(saved, [screen, second])).toEqual({ x: 2000, y: 100, width: 1000, height: 800, maximized: false });
  });

  it('centres it on the primary screen when its screen is gone, keeping a size that fits', () => {
    const saved = { bounds: { x: 2000, y: 100, width: 2400, height: 800 }, maximized: true };
    expect(placeWindow(saved, [screen])).toEqual({ width: 1920, height: 800, maximized: true });
    const titleOffTop = { bounds: { x: 100, y: -500, width: 800, height: 600 }, maximized: false };
    expect(placeWindow(titleOffTop, [screen])).toEqual({ width: 800, height: 600, maximized: false });
  });

  it('never opens smaller than the minimum size', () => {
    const tiny = { bounds: { x: 10, y: 10, width: 50, height: 20 }, maximized: false };
    expect(placeWindow(tiny, [screen])).toMatchObject({ x: 10, y: 10, width: 720, height: 480 });
  });
});
