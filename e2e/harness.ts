// Shared e2e setup: a copy of the sample folder, `loupe serve` on it (in this process, with the real
// store, scan, inference worker and bridge), and Debian's Chromium driven by playwright-core.
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { createSocketApi, type SocketApi } from '../app/ipc/socket-client.js';
import { repoRoot, serveFolder, type ServeOptions, type Serving } from '../main/bridge/serve.js';

export const ROOT = repoRoot();
export const ARTIFACTS = path.join(ROOT, 'test-results', 'e2e');

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** The shipped model when it exists, else the smoke model trained by tools/model. */
export function modelCard(): string {
  const shipped = path.join(ROOT, 'resources', 'models', 'loupe-shapes.json');
  if (existsSync(shipped)) return shipped;
  const smoke = path.join(ROOT, 'tools', 'model', 'runs', 'smoke', 'smoke.json');
  if (existsSync(smoke)) return smoke;
  throw new Error(`no model to pre-label with: neither ${shipped} (shipped) nor ${smoke} (tools/model smoke run) exists`);
}

export interface Session {
  readonly folder: string;
  readonly serving: Serving;
  readonly browser: Browser;
  readonly page: Page;
  /** A second client of the same bridge, for tests to set up and read state through the contract. */
  readonly api: SocketApi;
  readonly errors: string[];
  close(): Promise<void>;
}

export interface SessionOptions {
  /**
   * Answers for main's file dialog, by purpose (an annotation import's source, an export's destination, a model's
   * files), as a person would; a browser page has none of its own.
   */
  readonly chooseFile?: ServeOptions['chooseFile'];
}

export async function startSession(name: string, options: SessionOptions = {}): Promise<Session> {
  for (const built of ['dist/main/inference/worker.js']) {
    if (!existsSync(path.join(ROOT, built))) throw new Error(`${built} is missing; run \`npm run build\` first`);
  }
  await mkdir(ARTIFACTS, { recursive: true });
  const work = await mkdtemp(path.join(tmpdir(), `loupe-e2e-${name}-`));
  const rendererDir = buildRenderer(work);
  const folder = path.join(work, 'samples');
  await cp(path.join(ROOT, 'resources', 'samples'), folder, { recursive: true, filter: (src) => !src.includes(`${path.sep}.loupe`) });
  // A model folder holding just the chosen model, so it is the one pre-labelling picks.
  const models = path.join(work, 'models');
  await mkdir(models);
  const card = modelCard();
  // The card names its .onnx (relative to the card), or it is the card's own name with .onnx; and the training
  // checkpoint a new version is fine-tuned from, when it has one.
  const described = JSON.parse(await readFile(card, 'utf8')) as { onnx?: string; checkpoint?: { file?: string } };
  const onnx = described.onnx ?? path.basename(card).replace(/\.json$/, '.onnx');
  await cp(card, path.join(models, path.basename(card)));
  await cp(path.join(path.dirname(card), onnx), path.join(models, onnx));
  const checkpoint = described.checkpoint?.file;
  if (checkpoint && existsSync(path.join(path.dirname(card), checkpoint))) await cp(path.join(path.dirname(card), checkpoint), path.join(models, checkpoint));
  const serving = await serveFolder(folder, {
    modelDir: models, rendererDir, userModelDir: path.join(work, 'user-models'), log: () => {},
    ...(options.chooseFile ? { chooseFile: options.chooseFile } : {}),
  });
  const api = await connectApi(serving);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().includes('favicon')) errors.push(message.text());
  });
  return {
    folder,
    serving,
    browser,
    page,
    api,
    errors,
    async close() {
      api.close();
      await browser.close();
      await serving.close();
      await rm(work, { recursive: true, force: true });
    },
  };
}

/** A contract client over the bridge's WebSocket, as the page has. */
export async function connectApi(serving: Serving): Promise<SocketApi> {
  const { port, origin } = serving.bridge;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ipc`, { headers: { cookie: serving.bridge.newSession() } });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return createSocketApi(ws as never, origin);
}

/** Builds the renderer into `work`/renderer: test files run side by side, each with its own bundle. */
export function buildRenderer(work: string): string {
  const out = path.join(work, 'renderer');
  execFileSync(process.execPath, [path.join(ROOT, 'renderer', 'build.mjs'), '--out', out], { stdio: 'inherit' });
  return out;
}

/** Opens the bridge's printed one-time URL: its token becomes a session cookie and leaves the address. */
export async function openApp(page: Page, url: string): Promise<void> {
  await page.goto(url);
  if (new URL(page.url()).searchParams.has('token')) throw new Error(`the bridge left its token in the address: ${page.url()}`);
  await page.waitForSelector('#app[data-ready="true"]', { timeout: 20_000 });
}

export const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
