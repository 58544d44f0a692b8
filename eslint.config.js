// Lint keeps app/ pure: the shared core may not reach for Electron, Node, the DOM, Konva or React.
import tseslint from 'typescript-eslint';

const platformModules = [
  'electron', 'fs', 'fs/promises', 'path', 'os', 'child_process', 'worker_threads', 'crypto', 'url',
  'stream', 'util', 'events', 'http', 'https', 'net', 'zlib', 'buffer', 'process',
  'konva', 'react', 'react-dom', 'better-sqlite3', 'onnxruntime-node', 'sharp',
];
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
);
