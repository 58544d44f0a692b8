import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
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
