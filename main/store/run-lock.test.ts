import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openProject, type ProjectStore } from './project.js';
import { RunLockedError } from './run-lock.js';
import { temporaryProject } from './store.test-support.js';

let project: ReturnType<typeof temporaryProject>;
let other: ProjectStore;
beforeEach(() => {
  project = temporaryProject();
  other = openProject(project.folder);
});
afterEach(() => {
  other.close();
  project.dispose();
});

it('holds one run per project: a second taker is refused naming the owner, and may take it once released', () => {
  const lock = project.store.runLock.acquire();
  expect(project.store.runLock.current()).toMatchObject({ pid: process.pid, state: 'starting', ownedHere: true });
  lock.update({ state: 'running', total: 10, done: 3 });
  expect(other.runLock.current()).toMatchObject({ pid: process.pid, state: 'running', total: 10, done: 3, failed: 0, ownedHere: false });
  expect(() => other.runLock.acquire()).toThrow(RunLockedError);
  expect(() => other.runLock.acquire()).toThrow(/^a pre-label run is already in progress \(pid \d+, started \d\d:\d\d\)$/);
  lock.release();
  expect(other.runLock.current()).toBeNull();
  other.runLock.acquire().release();
});

it('takes over a lock whose process is gone', () => {
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const pid = Number(gone.stdout);
  other.db.prepare(`INSERT INTO run_lock (id, token, pid, host, state) VALUES (1, 'dead', ?, ?, 'running')`).run(pid, hostname());
  expect(project.store.runLock.current()).toBeNull();
  const lock = project.store.runLock.acquire();
  expect(other.runLock.current()).toMatchObject({ pid: process.pid });
  lock.release();
});

it('trusts another host\'s lock only while its heartbeat is fresh', () => {
  other.db.prepare(`INSERT INTO run_lock (id, token, pid, host, state) VALUES (1, 't', 1, 'another-machine', 'running')`).run();
  expect(project.store.runLock.current()).toMatchObject({ host: 'another-machine' });
  expect(() => project.store.runLock.acquire()).toThrow(/\(pid 1 on another-machine, started/);
  other.db.prepare(`UPDATE run_lock SET heartbeat_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-2 minutes')`).run();
  expect(project.store.runLock.current()).toBeNull();
  project.store.runLock.acquire().release();
});
