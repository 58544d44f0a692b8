// Lint keeps the process boundaries: app/ is pure (no Electron, Node, DOM, Konva or React); the renderer (a web page)
// never imports main/ nor Node, and main/ never imports the renderer. Tests and their support may cross them.
import tseslint from 'typescript-eslint';

const platformModules = [
  'electron', 'fs', 'fs/promises', 'path', 'os', 'child_process', 'worker_threads', 'crypto', 'url',
  'stream', 'util', 'events', 'http', 'https', 'net', 'zlib', 'buffer', 'process',
  'konva', 'react', 'react-dom', 'better-sqlite3', 'onnxruntime-node', 'sharp',
];
const nodeModules = platformModules.filter((name) => !['konva', 'react', 'react-dom'].includes(name));
const testFiles = ['**/*.test.ts', '**/*.test-support.ts'];
const noRenderer = { group: ['**/renderer/**'], message: 'main/ never imports the renderer: share code through app/.' };
const decodeElsewhere = 'untrusted files are parsed in the untrusted-files process (main/untrusted) or the inference workers, never in main.';
const domGlobals = [
  'window', 'document', 'navigator', 'location', 'localStorage', 'sessionStorage', 'HTMLElement',
  'HTMLCanvasElement', 'CanvasRenderingContext2D', 'Image', 'ImageData', 'OffscreenCanvas',
  'requestAnimationFrame', 'fetch', 'XMLHttpRequest', 'WebSocket', 'process', 'Buffer', 'require',
  '__dirname', '__filename',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'tools/**', 'bench/out/**', 'test-results/**', '.e2e-artifacts/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['app/**/*.ts'],
    ignores: ['app/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: platformModules.map((name) => ({ name, message: 'app/ is the pure shared core: no platform modules.' })),
        patterns: [{ group: ['node:*'], message: 'app/ is the pure shared core: no node: modules.' }],
      }],
      'no-restricted-globals': ['error', ...domGlobals.map((name) => ({ name, message: 'app/ is pure: no DOM or Node globals.' }))],
    },
  },
  {
    files: ['renderer/**/*.ts'],
    ignores: testFiles,
    rules: {
      'no-restricted-imports': ['error', {
        paths: nodeModules.map((name) => ({ name, message: 'renderer/ is a web page: it reaches main only through the IPC contract.' })),
        patterns: [
          { group: ['node:*'], message: 'renderer/ is a web page: no node: modules.' },
          { group: ['**/main/**'], message: 'renderer/ never imports main/: use the IPC contract (app/ipc).' },
        ],
      }],
    },
  },
  {
    files: ['main/**/*.ts'],
    ignores: testFiles,
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [noRenderer],
        paths: ['sharp', 'onnxruntime-node'].map((name) => ({ name, allowTypeImports: true, message: decodeElsewhere })),
      }],
    },
  },
  {
    // Where untrusted files are decoded and models opened: the untrusted-files process, the inference workers, and
    // the probe and loader list they run.
    files: ['main/untrusted/**/*.ts', 'main/inference/**/*.ts', 'main/fs/probe.ts', 'main/fs/image-loaders.ts'],
    ignores: testFiles,
    rules: { 'no-restricted-imports': ['error', { patterns: [noRenderer] }] },
  },
);
