import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { repoRoot } from '../bridge/serve.js';
import { writeFileAtomic } from './atomicWrite.js';
import { FileError } from './fileError.js';

let folder: string;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'loupe-atomic-'));
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

it('replaces a file whole and leaves no temporary file', async () => {
  const path = join(folder, 'out.json');
  writeFileSync(path, 'old');
  await writeFileAtomic(path, 'new content');
  expect(readFileSync(path, 'utf8')).toBe('new content');
  expect(readdirSync(folder)).toEqual(['out.json']);
});

it('keeps the old file and cleans up when the rename fails', async () => {
  const path = join(folder, 'taken');
  mkdirSync(path);
  writeFileSync(join(path, 'inside'), 'x');
  await expect(writeFileAtomic(path, 'data')).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
  expect(readdirSync(folder)).toEqual(['taken']);
  expect(readFileSync(join(path, 'inside'), 'utf8')).toBe('x');
});

it('names the folder that does not exist', async () => {
  const missing = join(folder, 'nope');
  await expect(writeFileAtomic(join(missing, 'a.json'), 'x')).rejects.toEqual(new FileError(missing, 'no such folder to write into'));
});

/**
 * Kills a real writer process (SIGKILL) while its data is still on its way to disk: the target keeps its old
 * content whole. The writer sends a first chunk and then waits, so the kill always lands mid-write. The control
 * does the same to a plain writeFile, which must leave the target damaged: the proof that the test can fail.
 */
describe('a writer killed mid-write', () => {
  const OLD = 'old content, whole\n'.repeat(1000);

  async function killWhileWriting(method: 'atomic' | 'plain'): Promise<{ target: string; leftovers: string[] }> {
    const target = join(folder, 'out.txt');
    writeFileSync(target, OLD);
    const module = pathToFileURL(join(repoRoot(), 'dist', 'main', 'fs', 'atomicWrite.js')).href;
    const chunks = `(async function* () { yield 'new, partial '.repeat(1000); await new Promise(() => {}); })()`;
    const script = method === 'atomic'
      ? `import(${JSON.stringify(module)}).then((m) => m.writeFileAtomic(process.argv[1], ${chunks}))`
      : `require('node:fs/promises').writeFile(process.argv[1], ${chunks})`;
    const child = spawn(process.execPath, ['-e', script, target], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const written = method === 'atomic' ? () => readdirSync(folder).find((f) => f.endsWith('.tmp')) : () => 'out.txt';
    await vi.waitFor(() => {
      const file = written();
      if (!file || !readFileSync(join(folder, file), 'utf8').startsWith('new, partial')) throw new Error('the first chunk is not written yet');
    }, { timeout: 60_000, interval: 20 });
    child.kill('SIGKILL');
    await exited;
    return { target: readFileSync(target, 'utf8'), leftovers: readdirSync(folder).filter((f) => f !== 'out.txt') };
  }

  it('leaves the old file whole when the write goes through writeFileAtomic', async () => {
    const { target, leftovers } = await killWhileWriting('atomic');
    expect(target).toBe(OLD);
    // The partial data died in the temporary file, never in the target.
    expect(leftovers).toEqual([expect.stringMatching(/^\.out\.txt\.[0-9a-f]{12}\.tmp$/)]);
  });

  it('control: the same kill damages a plain writeFile target', async () => {
    const { target } = await killWhileWriting('plain');
    expect(target.startsWith('new, partial')).toBe(true);
    expect(target).not.toContain('old content');
  });
});
