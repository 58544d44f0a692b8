import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, droppedPathFromUrl, folderFromArgv, isTrustedSenderUrl, refusedSwitch } from './security.js';

describe('isTrustedSenderUrl', () => {
  it('trusts only pages on app://loupe', () => {
    expect(isTrustedSenderUrl('app://loupe/index.html')).toBe(true);
    expect(isTrustedSenderUrl('app://loupe/')).toBe(true);
    for (const url of [
      'app://evil/index.html', 'app://loupe.evil.com/', 'app://user:pw@loupe/', 'file:///app/index.html',
      'http://127.0.0.1:5173/', 'https://loupe/', 'loupe-image://files/a.jpg', 'about:blank', 'devtools://devtools/x',
      '', 'not a url', undefined, null,
    ]) {
      expect(isTrustedSenderUrl(url), String(url)).toBe(false);
    }
  });
});

describe('CONTENT_SECURITY_POLICY', () => {
  it('allows no inline or remote script, no plugins, no framing, and no network', () => {
    const directives = new Map(CONTENT_SECURITY_POLICY.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('connect-src')).not.toContainEqual(expect.stringMatching(/^(https?:|ws:|wss:|\*)/));
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline/);
  });
});

describe('droppedPathFromUrl', () => {
  it('turns a dropped folder file:// URL into a path', () => {
    expect(droppedPathFromUrl('file:///home/me/My%20Photos/', 'linux')).toBe('/home/me/My Photos');
    expect(droppedPathFromUrl('file:///C:/Users/me/shots', 'win32')).toBe('C:\\Users\\me\\shots');
    expect(droppedPathFromUrl('file:///', 'linux')).toBe('/');
  });
  it('ignores everything that is not a local file URL', () => {
    expect(droppedPathFromUrl('https://example.org/x', 'linux')).toBeNull();
    expect(droppedPathFromUrl('file://server/share/x', 'linux')).toBeNull();
    expect(droppedPathFromUrl('file:///tmp/a%00b', 'linux')).toBeNull();
    expect(droppedPathFromUrl('nonsense', 'linux')).toBeNull();
  });
});

describe('folderFromArgv', () => {
  it('takes the first operand after the executable (and the app path in development)', () => {
    expect(folderFromArgv(['/opt/Loupe/loupe', '/data/shots'], true)).toBe('/data/shots');
    expect(folderFromArgv(['/usr/bin/electron', '.', '--model-dir=/m', '/data/shots'], false)).toBe('/data/shots');
    expect(folderFromArgv(['/usr/bin/electron', '.'], false)).toBeNull();
    expect(folderFromArgv(['/opt/Loupe/loupe', '--no-sandbox'], true)).toBeNull();
  });
});

describe('refusedSwitch', () => {
  it('finds debugger, inspector and sandbox switches in every spelling Chromium and Node accept', () => {
    for (const args of [
      ['--remote-debugging-port=9222'], ['--remote-debugging-port', '9222'], ['-remote-debugging-port=0'], ['--REMOTE-DEBUGGING-PORT=1'],
      ['--remote-debugging-pipe'], ['--inspect'], ['--inspect=0.0.0.0:9229'], ['--inspect-brk=9229'], ['--inspect-port=1'],
      ['--js-flags=--allow-natives-syntax'], ['--no-sandbox'], ['/data/photos', '--', '--inspect'],
    ]) {
      expect(refusedSwitch(args, 'linux'), args.join(' ')).not.toBeNull();
    }
    expect(refusedSwitch(['--remote-debugging-port=9222'], 'linux')).toBe('--remote-debugging-port');
    expect(refusedSwitch(['/remote-debugging-port=9222'], 'win32')).toBe('/remote-debugging-port');
  });

  it("lets a folder, the app's own switches and look-alike names through", () => {
    for (const args of [
      [], ['/data/photos'], ['--model-dir=/models'], ['--inspector-ui'], ['--remote-debugging'], ['.', 'C:\\photos\\batch'],
      ['--enable-logging'], ['inspect'], ['/inspect'],
    ]) {
      expect(refusedSwitch(args, 'linux'), args.join(' ')).toBeNull();
    }
    expect(refusedSwitch(['/inspect'], 'win32')).toBe('/inspect');
  });
});
