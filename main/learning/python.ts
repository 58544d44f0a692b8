// tools/model's Python, as `loupe train` and the app reach it: which interpreter (LOUPE_PYTHON, then
// tools/model/.venv), whether it has what training needs (and CUDA when asked for), and running its commands as
// children that stop through stdin (tools/model/child.py) on every platform and never outlive this process.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { processAlive } from '../store/index.js';

/** Python could not be found or cannot train; the message says what to do. */
export class PythonError extends Error {
  override name = 'PythonError';
}

/**
 * The folder holding tools/model: the repository, or, in a packaged app (this code inside app.asar), the resources
 * folder beside the archive, where electron-builder's extraResources puts tools/model (Python cannot read an asar).
 */
export function toolsRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // main/learning in the sources, dist/main/learning when built.
  const root = here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '../../..') : path.resolve(here, '../..');
  return path.basename(root) === 'app.asar' ? path.dirname(root) : root;
}

export const setupCommand = (cuda = false): string =>
  `bash ${path.join(toolsRoot(), 'tools', 'model', 'setup-venv.sh')}${cuda ? ' --cuda' : ''}`;

/** tools/model/.venv's interpreter on this platform. */
export function venvPython(root = toolsRoot()): string {
  const venv = path.join(root, 'tools', 'model', '.venv');
  return process.platform === 'win32' ? path.join(venv, 'Scripts', 'python.exe') : path.join(venv, 'bin', 'python');
}

export interface PythonInfo {
  readonly python: string;
  /** 'LOUPE_PYTHON' or 'tools/model/.venv'. */
  readonly source: string;
  readonly torch: string;
  /** CUDA version torch was built with; null for a CPU-only build. */
  readonly cuda: string | null;
  readonly gpu: boolean;
}

const PROBE = `import json, torch, torchvision, pycocotools
print(json.dumps({"torch": str(torch.__version__), "cuda": torch.version.cuda, "gpu": bool(torch.cuda.is_available())}))`;

/**
 * The Python to train with, checked: it imports torch, torchvision and pycocotools, and with `cuda` it has a CUDA
 * build of torch and sees a GPU. Throws PythonError naming the one command that makes a working environment.
 */
export async function findPython(options: { readonly cuda?: boolean; readonly env?: NodeJS.ProcessEnv; readonly venv?: string } = {}): Promise<PythonInfo> {
  const env = options.env ?? process.env;
  const named = env.LOUPE_PYTHON;
  const python = named || (options.venv ?? venvPython());
  const source = named ? 'LOUPE_PYTHON' : 'tools/model/.venv';
  if (!named && !existsSync(python)) {
    throw new PythonError(`no Python with PyTorch to train with: LOUPE_PYTHON is not set and ${python} does not exist; make it with: ${setupCommand(options.cuda)}`);
  }
  // Importing torch takes seconds: run without blocking (the desktop app's main process keeps answering).
  const probe = await new Promise<{ error: Error | null; stdout: string; stderr: string }>((resolve) => {
    execFile(python, ['-c', PROBE], { encoding: 'utf8', timeout: 120_000, env }, (error, stdout, stderr) => resolve({ error, stdout, stderr }));
  });
  if (probe.error) {
    const code = (probe.error as NodeJS.ErrnoException & { code?: string | number }).code;
    const why = typeof code === 'string' ? `${code}: ${probe.error.message}` : (lastLine(probe.stderr) ?? `exit status ${code ?? '?'}`);
    throw new PythonError(`${source} (${python}) cannot import torch, torchvision and pycocotools (${why}); make an environment with: ${setupCommand(options.cuda)}`);
  }
  const info = JSON.parse(lastLine(probe.stdout) ?? '{}') as { torch: string; cuda: string | null; gpu: boolean };
  if (options.cuda && info.cuda === null) {
    throw new PythonError(`this torch (${info.torch}, ${python}) was built without CUDA; install the CUDA build of torch: ${setupCommand(true)}`);
  }
  if (options.cuda && !info.gpu) {
    throw new PythonError(`torch ${info.torch} was built with CUDA ${info.cuda} but sees no usable GPU; check the NVIDIA driver (nvidia-smi lists the GPU)`);
  }
  return { python, source, ...info };
}

function lastLine(text: string | null | undefined): string | undefined {
  return text?.trim().split('\n').at(-1)?.trim() || undefined;
}

export interface ModelToolOutcome {
  /** 0 done, 2 an error, 130 training stopped after writing its checkpoint; null when killed by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  /** The last lines on stderr, for the error message. */
  readonly stderrTail: string;
}

export interface ModelToolRun {
  readonly child: ChildProcess;
  /** Asks it to stop as Ctrl-C does: training writes its checkpoint and exits 130; asked twice, it stops at once. */
  stop(): void;
  readonly done: Promise<ModelToolOutcome>;
}

const STDERR_LINES = 30;

/**
 * Runs `python -m tools.model <args>` as a child that stops through stdin (tools/model/child.py). On POSIX it gets
 * its own process group, so a Ctrl-C in the terminal reaches it once, through this process, never twice.
 */
export function runModelTool(
  python: string,
  args: readonly string[],
  handlers: { onLine?: (line: string) => void; onStderr?: (line: string) => void } = {},
): ModelToolRun {
  const root = toolsRoot();
  const child = spawn(python, ['-m', 'tools.model.child', ...args], {
    cwd: root,
    env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONPATH: [root, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: process.platform !== 'win32',
    windowsHide: true,
  });
  let stdout = '';
  const tail: string[] = [];
  lines(child.stdout!, (line) => {
    stdout += `${line}\n`;
    handlers.onLine?.(line);
  });
  lines(child.stderr!, (line) => {
    tail.push(line);
    if (tail.length > STDERR_LINES) tail.shift();
    handlers.onStderr?.(line);
  });
  // A parent that goes away closes this pipe; the child stops on its own then.
  child.stdin!.on('error', () => {});
  const done = new Promise<ModelToolOutcome>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderrTail: tail.join('\n') }));
  });
  return {
    child,
    stop: () => {
      if (child.exitCode === null && child.stdin!.writable) child.stdin!.write('stop\n');
    },
    done,
  };
}

function lines(stream: NodeJS.ReadableStream, each: (line: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (pending + chunk).split('\n');
    pending = parts.pop()!;
    for (const line of parts) each(line.replace(/\r$/, ''));
  });
  stream.on('end', () => {
    if (pending) each(pending);
  });
}

/** Waits for a training process left by a run whose owner died (it stops at its next checkpoint once its parent is gone). */
export async function waitForExit(pid: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

