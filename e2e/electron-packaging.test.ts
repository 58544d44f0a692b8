// Checks electron-builder.yml without building an installer (that needs the Electron binary, which
// cannot be downloaded here): electron-builder's own schema accepts it, it packages what the app
// loads, and every native file of a production dependency is unpacked from the asar.
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { minimatch } from 'minimatch';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

interface BuilderConfig {
  directories: { app: string; output: string };
  electronFuses: Record<string, boolean>;
  publish?: unknown;
  forceCodeSigning?: boolean;
  /** electron-builder normalises `files` to file sets. */
  files: { filter: string[] }[];
  asarUnpack: string[];
  extraResources: { from: string; to: string; filter: string[] }[];
  linux: { target: string[] };
  win: { target: { target: string }[]; verifyUpdateCodeSignature?: boolean; signtoolOptions?: Record<string, unknown> };
  mac: { target: { target: string }[]; hardenedRuntime?: boolean; notarize?: boolean; identity?: unknown };
}
let config: BuilderConfig;

beforeAll(async () => {
  const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config');
  const { DebugLogger } = require('builder-util');
  config = await getConfig(root, path.join(root, 'electron-builder.yml'), null);
  await validateConfiguration(config, new DebugLogger(false));
});

const included = (file: string) => {
  let result = false;
  for (const pattern of config.files.flatMap((set) => set.filter)) {
    if (pattern.startsWith('!')) {
      if (minimatch(file, pattern.slice(1), { dot: true })) result = false;
    } else if (minimatch(file, pattern, { dot: true })) {
      result = true;
    }
  }
  return result;
};

async function nativeFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') found.push(...(await nativeFiles(full)));
    } else if (/\.(node|dll|dylib)$|\.so(\.\d+)*$/.test(entry.name)) {
      found.push(full);
    }
  }
  return found;
}

describe('electron-builder.yml', () => {
  it('targets AppImage and deb, NSIS and dmg, with this folder as the app directory', () => {
    expect(config.directories).toMatchObject({ app: '.', output: 'release' });
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.win.target.map((t) => t.target)).toEqual(['nsis']);
    expect(config.mac.target.map((t) => t.target)).toEqual(['dmg']);
  });

  it('packages the entry point, the preload bundle, the renderer, the models and the icon', async () => {
    const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));
    expect(pkg.main).toBe('dist/main/electron/main.js');
    await readFile(path.join(root, 'resources/models/loupe-shapes.onnx')); // the shipped model the patterns must cover exists
    for (const file of [pkg.main, 'dist/electron/preload.cjs', 'dist/renderer/index.html', 'dist/main/inference/worker.js', 'dist/app/ipc/contract.js', 'resources/models/loupe-shapes.onnx', 'resources/icons/icon.png']) {
      expect(included(file), file).toBe(true);
    }
    for (const file of ['main/electron/main.ts', 'dist/main/electron/main.test.js', 'dist/main/electron/main.js.map', 'tools/model/train.py', 'e2e/electron.test.ts']) {
      expect(included(file), file).toBe(false);
    }
  });

  it('carries tools/model\'s Python sources beside the archive for training, without its tests, runs, data or venv', async () => {
    const sets = config.extraResources.filter((set) => set.from === 'tools/model' && set.to === 'tools/model');
    expect(sets).toHaveLength(1);
    const carried = (file: string) => {
      let result = false;
      for (const pattern of sets[0]!.filter) {
        if (pattern.startsWith('!')) {
          if (minimatch(file, pattern.slice(1), { dot: true })) result = false;
        } else if (minimatch(file, pattern, { dot: true })) {
          result = true;
        }
      }
      return result;
    };
    const sources = (await readdir(path.join(root, 'tools/model'))).filter((name) => name.endsWith('.py') || name.endsWith('.mjs'));
    // What `loupe train` runs: the child entry, the commands, the export's onnxruntime-node check, and the setup.
    expect(sources).toEqual(expect.arrayContaining(['child.py', '__main__.py', 'train.py', 'export.py', 'evaluate.py', 'verify_onnx.mjs']));
    for (const file of [...sources, 'requirements.txt', 'setup-venv.sh']) expect(carried(file), file).toBe(true);
    for (const file of ['tests/test_training.py', '.venv/bin/python', 'runs/smoke/last.pt', 'data/train/annotations.json', '__pycache__/train.cpython-311.pyc']) {
      expect(carried(file), file).toBe(false);
    }
  });

  it('unpacks every native library of the production dependencies, and the models', async () => {
    const modules = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(`${path.sep}node_modules${path.sep}`));
    const natives = (await Promise.all(modules.map(nativeFiles))).flat().map((file) => path.relative(root, file).split(path.sep).join('/'));
    expect(natives.some((file) => file.includes('better_sqlite3.node'))).toBe(true);
    expect(natives.some((file) => file.includes('libonnxruntime.so'))).toBe(true);
    const packed = natives.filter((file) => !config.asarUnpack.some((pattern) => minimatch(file, pattern, { dot: true })));
    expect(packed).toEqual([]);
    expect(config.asarUnpack.some((pattern) => minimatch('resources/models/loupe-shapes.onnx', pattern))).toBe(true);
  });
});

describe('electron-builder.yml, security', () => {
  /** The fuse wire exactly as electron-builder will flip it into the Electron binary. */
  async function fuseWire(): Promise<Record<string, unknown>> {
    const { PlatformPackager } = require('app-builder-lib');
    return PlatformPackager.prototype.generateFuseConfig.call({}, config.electronFuses);
  }

  it('sets every fuse @electron/fuses knows, each to its hardened value', async () => {
    const { FuseV1Options } = require('@electron/fuses') as { FuseV1Options: Record<string, number | string> };
    const wire = await fuseWire();
    const expected: Record<string, boolean> = {
      RunAsNode: false,
      EnableCookieEncryption: true,
      EnableNodeOptionsEnvironmentVariable: false,
      EnableNodeCliInspectArguments: false,
      EnableEmbeddedAsarIntegrityValidation: true,
      OnlyLoadAppFromAsar: true,
      LoadBrowserProcessSpecificV8Snapshot: false,
      GrantFileProtocolExtraPrivileges: false,
    };
    // A fuse added by a newer @electron/fuses fails here until someone decides its value.
    const known = Object.keys(FuseV1Options).filter((name) => Number.isNaN(Number(name)));
    expect(known.sort()).toEqual(Object.keys(expected).sort());
    for (const [name, value] of Object.entries(expected)) {
      expect(wire[FuseV1Options[name]!], name).toBe(value);
    }
  });

  it('keeps signing secrets out of the file, verifies Windows updates, hardens and notarises macOS, and publishes nowhere by default', () => {
    const text = JSON.stringify(config);
    expect(text).not.toMatch(/cscLink|cscKeyPassword|certificatePassword|certificateFile|APPLE_APP_SPECIFIC_PASSWORD|appleIdPassword/i);
    expect(config.win.verifyUpdateCodeSignature).toBe(true);
    expect(config.win.signtoolOptions).toEqual({ signingHashAlgorithms: ['sha256'] });
    expect(config.mac).toMatchObject({ hardenedRuntime: true, notarize: true });
    expect(config.mac.identity).toBeUndefined();
    expect(config.publish).toBeUndefined();
  });
});
