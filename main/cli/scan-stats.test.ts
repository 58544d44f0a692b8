import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeImage } from '../fs/images.test-support.js';
import { LOUPE_BIN, runLoupe } from './cli.test-support.js';

let folder: string;
beforeEach(async () => {
  folder = mkdtempSync(join(tmpdir(), 'loupe-cli-'));
  await writeImage(folder, 'a.jpg');
  await writeImage(folder, 'sub/b.png', { seed: 2 });
  writeFileSync(join(folder, 'broken.jpg'), 'not a jpeg');
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

describe('loupe scan and stats', () => {
  it('scans a folder into <folder>/.loupe/project.db and reports by status with failures and reasons', () => {
    const scan = runLoupe(['scan', folder]);
    expect(scan.stderr).toBe('');
    expect(scan.status).toBe(0);
    expect(scan.stdout).toContain(`${folder}: 3 images (3 new, 0 changed, 0 moved, 0 unchanged, 0 missing, 1 unreadable)`);
    expect(scan.stdout).toMatch(/\n {2}broken\.jpg: .+\n/);
    // A plain rescan reads nothing again and still names the image in error.
    const rescan = runLoupe(['scan', folder]);
    expect(rescan.stdout).toContain('(0 new, 0 changed, 0 moved, 3 unchanged, 0 missing, 1 unreadable)');
    expect(rescan.stdout).toMatch(/\n {2}broken\.jpg: .+\n/);
    expect(existsSync(join(folder, '.loupe', 'project.db'))).toBe(true);

    const stats = runLoupe(['stats', folder]);
    expect(stats.status).toBe(0);
    expect(stats.stdout).toMatch(/^images: 3\n {2}new +2\n/);
    expect(stats.stdout).toMatch(/ {2}error +1\n/);
    // Each count is the length of its list: one image in error, one unreadable file.
    expect(stats.stdout).toMatch(/unreadable files: 1\n {2}broken\.jpg: .*(JPEG|unsupported|format)/i);
    expect(stats.stdout).toContain('model failures: 0\nstale: 0 images\n');

    const json = runLoupe(['stats', folder, '--json']);
    expect(json.status).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed).toMatchObject({ images: 3, byStatus: { new: 2, error: 1 }, missing: 0, stale: [], classes: [] });
    expect(parsed.failed).toEqual([{ imageId: expect.any(Number), path: 'broken.jpg', stage: 'scan', reason: expect.any(String) }]);
  });

  it('keeps the database where --db says, leaving the folder untouched', () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'loupe-db-'));
    try {
      const db = join(elsewhere, 'p.db');
      expect(runLoupe(['scan', folder, '--db', db]).status).toBe(0);
      expect(existsSync(join(folder, '.loupe'))).toBe(false);
      expect(JSON.parse(runLoupe(['stats', folder, '--db', db, '--json']).stdout).images).toBe(3);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('exits 2 with one line naming the file for runtime errors', () => {
    const missing = join(folder, 'nope');
    expect(runLoupe(['scan', missing])).toEqual({ status: 2, stdout: '', stderr: `loupe: ${missing}: no such folder\n` });
    expect(runLoupe(['scan', join(folder, 'a.jpg')]).stderr).toBe(`loupe: ${join(folder, 'a.jpg')}: not a folder\n`);
    const notScanned = runLoupe(['stats', folder]);
    expect(notScanned.status).toBe(2);
    expect(notScanned.stderr).toBe(
      `loupe: ${join(folder, '.loupe', 'project.db')}: no Loupe project here yet; run \`loupe scan ${folder}\` first\n`,
    );
  });

  it('refuses a database from a newer Loupe', () => {
    const dbPath = join(folder, 'future.db');
    const db = new Database(dbPath);
    db.pragma('user_version = 99');
    db.close();
    const run = runLoupe(['stats', folder, '--db', dbPath]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^loupe: ${dbPath}: was written by a newer Loupe \\(schema 99, this build knows up to \\d+\\)\\n$`));
  });

  it('exits 1 on usage errors and 0 for help', () => {
    expect(runLoupe([])).toMatchObject({ status: 1, stderr: expect.stringContaining('usage: loupe <command>') });
    expect(runLoupe(['frobnicate'])).toMatchObject({ status: 1, stderr: "loupe: unknown command 'frobnicate' (try loupe --help)\n" });
    expect(runLoupe(['scan'])).toMatchObject({ status: 1, stderr: expect.stringContaining('scan takes <folder>, got 0 argument(s)') });
    expect(runLoupe(['stats', folder, '--bogus'])).toMatchObject({ status: 1, stderr: expect.stringContaining("loupe: unknown option '--bogus'") });
    const help = runLoupe(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/scan .*\n.*stats/s);
    expect(runLoupe(['stats', '--help'])).toMatchObject({ status: 0, stdout: expect.stringContaining('usage: loupe stats <folder> [--queue N] [--json] [--db FILE]') });
  });

  it.each(['scan', 'stats', 'stats --json'])('loupe %s into a reader that has gone ends quietly with status 0', async (command) => {
    expect(runLoupe(['scan', folder]).status).toBe(0);
    const [name, ...options] = command.split(' ');
    const child = spawn(process.execPath, [LOUPE_BIN, name!, folder, ...options], { stdio: ['ignore', 'pipe', 'pipe'] });
    // `loupe … | head -0`: the reading end closes before the first write.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(status).toBe(0);
  });
});
