import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relativeSegments, resolveInsideRoot, resolveLexically, UnsafePathError } from './paths.js';

let base: string;
let root: string;

beforeAll(async () => {
  base = await realpath(await mkdtemp(path.join(tmpdir(), 'loupe-safe-path-')));
  root = path.join(base, 'project');
  await mkdir(path.join(root, 'sub dir'), { recursive: true });
  await writeFile(path.join(root, 'a.jpg'), 'A');
  await writeFile(path.join(root, 'sub dir', 'b é.png'), 'B');
  await writeFile(path.join(root, '%2e%2e'), 'literal');
  await writeFile(path.join(base, 'secret.txt'), 'outside');
  await mkdir(path.join(base, 'elsewhere'));
  await writeFile(path.join(base, 'elsewhere', 'c.jpg'), 'C');
  await symlink(path.join(base, 'secret.txt'), path.join(root, 'leak.jpg'));
  await symlink(path.join(base, 'elsewhere'), path.join(root, 'linked-dir'));
  await symlink(path.join(root, 'a.jpg'), path.join(root, 'alias.jpg'));
  await symlink(path.join(root, 'missing.jpg'), path.join(root, 'dangling.jpg'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function refusal(requestPath: string): Promise<UnsafePathError> {
  const error = await resolveInsideRoot(root, requestPath).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected "${requestPath}" to be refused`).toBeInstanceOf(UnsafePathError);
  return error as UnsafePathError;
}

describe('resolveInsideRoot', () => {
  it('serves files inside the folder, decoding percent-encoded names once', async () => {
    expect(await resolveInsideRoot(root, 'a.jpg')).toBe(path.join(root, 'a.jpg'));
    expect(await resolveInsideRoot(root, 'sub%20dir/b%20%C3%A9.png')).toBe(path.join(root, 'sub dir', 'b é.png'));
    // Double encoding names a literal file, it never becomes "..".
    expect(await resolveInsideRoot(root, '%252e%252e')).toBe(path.join(root, '%2e%2e'));
  });

  it('follows symlinks that stay inside the folder', async () => {
    expect(await resolveInsideRoot(root, 'alias.jpg')).toBe(path.join(root, 'a.jpg'));
  });

  it.each([
    ['../secret.txt', 'traversal'],
    ['sub%20dir/../../secret.txt', 'traversal'],
    ['%2e%2e/secret.txt', 'traversal'],
    ['%2E%2E/secret.txt', 'traversal'],
    ['sub%20dir/%2e%2e/%2e%2e/secret.txt', 'traversal'],
    ['..%2fsecret.txt', 'traversal'],
    ['..%5csecret.txt', 'backslash'],
    ['./a.jpg', 'traversal'],
    ['/etc/passwd', 'absolute'],
    ['%2fetc%2fpasswd', 'absolute'],
    ['C:/Windows/win.ini', 'absolute'],
    ['c%3A%5CWindows', 'absolute'],
    ['a.jpg%00.png', 'nul-byte'],
    ['a.jpg\0', 'nul-byte'],
    ['%E0%A4%A', 'malformed-encoding'],
    ['sub%20dir//b.png', 'empty-segment'],
    ['', 'empty-segment'],
  ])('refuses %j (%s) with 403', async (requestPath, reason) => {
    const error = await refusal(requestPath);
    expect(error.reason).toBe(reason);
    expect(error.status).toBe(403);
  });

  it('refuses a symlinked file whose target is outside the folder', async () => {
    const error = await refusal('leak.jpg');
    expect(error.reason).toBe('outside-root');
  });

  it('refuses a file reached through a symlinked directory leading out', async () => {
    const error = await refusal('linked-dir/c.jpg');
    expect(error.reason).toBe('outside-root');
  });

  it('refuses directories and answers missing files with 404', async () => {
    expect((await refusal('sub%20dir')).reason).toBe('not-a-file');
    const missing = await refusal('nope.jpg');
    expect(missing.reason).toBe('not-found');
    expect(missing.status).toBe(404);
    expect((await refusal('dangling.jpg')).reason).toBe('not-found');
    expect((await refusal('a.jpg/inner')).reason).toBe('not-found');
  });

  it('works when the registered root itself is reached through a symlink', async () => {
    const linkedRoot = path.join(base, 'project-link');
    await symlink(root, linkedRoot);
    expect(await resolveInsideRoot(linkedRoot, 'a.jpg')).toBe(path.join(root, 'a.jpg'));
    expect((await resolveInsideRoot(linkedRoot, 'leak.jpg').catch((e: UnsafePathError) => e.reason))).toBe('outside-root');
  });
});

describe('relativeSegments', () => {
  it('splits and decodes without touching the disk', () => {
    expect(relativeSegments('x/y%20z')).toEqual(['x', 'y z']);
  });
});

describe('resolveLexically', () => {
  it('joins checked segments under the root without reading the disk', () => {
    expect(resolveLexically('/app.asar/dist/renderer', 'assets/app%20x.js')).toBe('/app.asar/dist/renderer/assets/app x.js');
    for (const bad of ['../secret', '%2e%2e/x', '/etc/passwd', 'a%00', 'a%5cb']) {
      expect(() => resolveLexically('/app.asar/dist/renderer', bad), bad).toThrow(UnsafePathError);
    }
  });
});
