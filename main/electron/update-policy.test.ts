import { describe, expect, it } from 'vitest';
import { planUpdates, type UpdateContext } from './update-policy.js';

const signedWindowsFeed = { provider: 'github', owner: 'loupe-app', repo: 'loupe', publisherName: ['Loupe Contributors'] };
const context = (overrides: Partial<UpdateContext> = {}): UpdateContext => ({
  isPackaged: true,
  platform: 'darwin',
  env: {},
  packaged: { provider: 'generic', url: 'https://updates.example.org/loupe' },
  ...overrides,
});

describe('planUpdates', () => {
  it('is off in development, when turned off, and when the build has no feed, saying why', () => {
    expect(planUpdates(context({ isPackaged: false, env: { LOUPE_UPDATE_URL: 'https://u.example.org' } }))).toEqual({
      mode: 'off', reason: expect.stringMatching(/not a packaged build/),
    });
    expect(planUpdates(context({ env: { LOUPE_UPDATES: 'off' } }))).toEqual({ mode: 'off', reason: expect.stringMatching(/LOUPE_UPDATES=off/) });
    expect(planUpdates(context({ packaged: null }))).toEqual({ mode: 'off', reason: expect.stringMatching(/without an update feed/) });
  });

  it('installs on macOS from the packaged feed, which electron-updater reads itself', () => {
    expect(planUpdates(context())).toEqual({ mode: 'install', feed: null, source: 'app-update.yml' });
  });

  it('takes a feed from the environment: an https server or a GitHub repository', () => {
    expect(planUpdates(context({ packaged: null, env: { LOUPE_UPDATE_URL: 'https://updates.example.org/loupe/' } }))).toEqual({
      mode: 'install', feed: { provider: 'generic', url: 'https://updates.example.org/loupe/' }, source: 'LOUPE_UPDATE_URL',
    });
    expect(planUpdates(context({ env: { LOUPE_UPDATE_GITHUB: 'loupe-app/loupe' } }))).toEqual({
      mode: 'install', feed: { provider: 'github', owner: 'loupe-app', repo: 'loupe' }, source: 'LOUPE_UPDATE_GITHUB',
    });
  });

  it('refuses a feed that is not https, has credentials, or is another provider', () => {
    for (const url of ['http://updates.example.org/', 'https://user:pw@updates.example.org/', 'ftp://x', 'not a url']) {
      expect(planUpdates(context({ env: { LOUPE_UPDATE_URL: url } })), url).toEqual({ mode: 'off', reason: expect.stringMatching(/must be an https URL/) });
    }
    expect(planUpdates(context({ env: { LOUPE_UPDATE_GITHUB: 'https://github.com/a/b' } }))).toMatchObject({ mode: 'off' });
    expect(planUpdates(context({ packaged: { provider: 'generic', url: 'http://updates.example.org/' } }))).toEqual({
      mode: 'off', reason: expect.stringMatching(/not an https URL/),
    });
    expect(planUpdates(context({ packaged: { provider: 's3', bucket: 'b' } }))).toEqual({ mode: 'off', reason: expect.stringMatching(/"s3" is not one Loupe uses/) });
  });

  it('installs on Windows only when the build was signed, so the update’s publisher is checked', () => {
    expect(planUpdates(context({ platform: 'win32', packaged: signedWindowsFeed }))).toEqual({ mode: 'install', feed: null, source: 'app-update.yml' });
    expect(planUpdates(context({ platform: 'win32', packaged: { ...signedWindowsFeed, publisherName: 'Loupe Contributors' } }))).toMatchObject({ mode: 'install' });
    for (const packaged of [{ provider: 'github', owner: 'a', repo: 'b' }, { ...signedWindowsFeed, publisherName: [] }, { ...signedWindowsFeed, publisherName: [' '] }]) {
      expect(planUpdates(context({ platform: 'win32', packaged }))).toEqual({ mode: 'off', reason: expect.stringMatching(/not code-signed/) });
    }
    // An environment feed does not lift the signature requirement.
    expect(planUpdates(context({ platform: 'win32', packaged: null, env: { LOUPE_UPDATE_URL: 'https://u.example.org/' } }))).toMatchObject({ mode: 'off' });
  });

  it('only announces new versions on Linux, whose packages electron-updater cannot verify', () => {
    expect(planUpdates(context({ platform: 'linux' }))).toEqual({ mode: 'notify', feed: null, source: 'app-update.yml' });
  });
});
