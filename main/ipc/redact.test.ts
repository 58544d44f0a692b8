import { describe, expect, it } from 'vitest';
import { redactPaths } from './redact.js';

const project = '/home/ann/photos';

describe('error messages without local paths', () => {
  it('shows a path inside the project relative to it, and the project folder by its name', () => {
    expect(redactPaths(`${project}/street/a.jpg: cannot be decoded`, project)).toBe('street/a.jpg: cannot be decoded');
    expect(redactPaths(`cannot write ${project}/.loupe/exports/coco.json (disk full)`, project)).toBe('cannot write .loupe/exports/coco.json (disk full)');
    expect(redactPaths(`${project}: not a folder`, project)).toBe('photos: not a folder');
  });

  it('shows any other absolute path by its last name: POSIX, Windows, UNC, inside quotes', () => {
    expect(redactPaths('/home/ann/models/x.onnx: the graph has no output "boxes"', project)).toBe('x.onnx: the graph has no output "boxes"');
    expect(redactPaths("ENOENT: no such file or directory, open '/srv/data/card.json'", null)).toBe("ENOENT: no such file or directory, open 'card.json'");
    expect(redactPaths('C:\\Users\\ann\\models\\x.onnx: unreadable', null)).toBe('x.onnx: unreadable');
    expect(redactPaths('\\\\nas\\share\\photos\\a.jpg: unreadable', null)).toBe('a.jpg: unreadable');
  });

  it('replaces the paths it is told of whole, spaces and all; a known folder leaves the path below it', () => {
    const models = '/Users/ann/Library/Application Support/Loupe/models';
    expect(redactPaths(`${models}/m v2.onnx already exists`, null, [models])).toBe('models/m v2.onnx already exists');
    expect(redactPaths('/home/ann/My Models/x.onnx: unreadable', project, ['/home/ann/My Models/x.onnx'])).toBe('x.onnx: unreadable');
  });

  it('leaves alone what is not a local path: URLs, patterns, fractions, MIME types, relative paths', () => {
    for (const message of [
      'https://example.org/models/x.onnx: 404',
      'Invalid string: must match pattern /^#[0-9a-f]{6}$/i',
      'scope must be reviewed/all; 3/4 done',
      'expected image/png',
      'street/a.jpg: missing',
      '/x.onnx',
    ]) {
      expect(redactPaths(message, project)).toBe(message);
    }
  });
});
