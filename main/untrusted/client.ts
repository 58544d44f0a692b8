// Main's side of the untrusted-files process: every image Loupe decodes for a scan or the UI, and every model file it
// is given to import, is read there (./process.ts). The process is started on first use and again after it dies. A
// request whose process died (a decoder crash, a kill, out of memory, a file that takes too long) is tried once more
// alone in a fresh process; only if it kills that one too is the file to blame: UntrustedFileCrashError, which the
// caller records against the file. Other requests in flight at the crash are tried again the same way.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidInputError } from '../../app/model/errors.js';
import type { FoundFile } from '../fs/imageFiles.js';
import type { ImageRenderer, Media } from '../media/index.js';
import type { GraphNames } from '../models/card-form.js';
import type { ModelChecks } from '../models/manager.js';
import type { ImageFile } from '../store/index.js';
import { forkedChild, type ChildPort } from './port.js';
import type { UntrustedReply, UntrustedRequest, UntrustedWork, WorkType } from './protocol.js';

/** A file the process could not read (it is not what its name says, or is damaged): the reader's message. */
export class UntrustedFileError extends InvalidInputError {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'UntrustedFileError';
  }
}

/** A file that crashed the process reading it, alone as well: never opened again by this request. */
export class UntrustedFileCrashError extends UntrustedFileError {
  constructor(file: string, how: string) {
    super(file, `crashed the process that reads it (${how}); it was not opened again`);
    this.name = 'UntrustedFileCrashError';
  }
}

/** The process ended while a request was in flight; `alone` when that request was the only one. */
class ProcessEnded extends Error {
  constructor(
    readonly how: string,
    readonly alone: boolean,
  ) {
    super(`the untrusted-files process ${how}`);
  }
}

export type UntrustedPort = ChildPort<UntrustedRequest, UntrustedReply>;

/** A request before it is given its id. */
type Work = { [T in WorkType]: { readonly type: T } & UntrustedWork[T]['request'] }[WorkType];

/** Longest a request may take before its process is taken for stuck and killed (models load for longer). */
const TIMEOUT_MS: Readonly<Record<WorkType, number>> = {
  probe: 60_000, probeMany: 120_000, display: 60_000, thumbnail: 60_000, graphNames: 300_000, verifyModel: 300_000,
};

/** The compiled entry; from TypeScript sources (Vitest) the built one from `npm run build`, as the inference worker's. */
export function untrustedEntryPath(): string {
  const here = fileURLToPath(import.meta.url);
  const entry = here.endsWith('.js')
    ? path.join(path.dirname(here), 'process.js')
    : path.resolve(path.dirname(here), '..', '..', 'dist', 'main', 'untrusted', 'process.js');
  if (!existsSync(entry)) throw new Error(`untrusted-files process not found at ${entry}; run \`npm run build\` first`);
  return entry;
}

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: ReturnType<typeof setTimeout> };

interface Child {
  readonly port: UntrustedPort;
  readonly pending: Map<number, Pending>;
  readonly idle: (() => void)[];
  ended: boolean;
}

export class UntrustedFiles implements ImageRenderer, ModelChecks {
  private child: Child | null = null;
  private nextId = 1;
  /** Requests tried again alone wait on this chain, and so does every new request while one is queued. */
  private gate: Promise<void> = Promise.resolve();
  private disposed = false;
  /** Processes started so far. */
  started = 0;

  /** `spawn` starts the process: a forked child by default, an Electron utilityProcess in the desktop app. */
  constructor(private readonly spawn: () => UntrustedPort = () => forkedChild(untrustedEntryPath())) {}

  /** The running process's id, if one is running. */
  get pid(): number | undefined {
    return this.child?.port.pid;
  }

  probe(file: FoundFile, verify: boolean): Promise<ImageFile> {
    return this.call(file.absolutePath, { type: 'probe', file, verify });
  }

  /**
   * Probes several files in one message, in order. When the process dies under the batch, each file is probed again
   * on its own (and alone if need be): a file that crashes it by itself comes back as its UntrustedFileCrashError.
   */
  async probeMany(files: readonly FoundFile[], verify: boolean): Promise<(ImageFile | UntrustedFileCrashError)[]> {
    const single = (file: FoundFile) =>
      this.probe(file, verify).catch((error: unknown) => {
        if (error instanceof UntrustedFileCrashError) return error;
        throw error;
      });
    if (files.length === 1) return [await single(files[0]!)];
    await this.gate;
    try {
      return (await this.send({ type: 'probeMany', files, verify })) as ImageFile[];
    } catch (error) {
      if (!(error instanceof ProcessEnded)) throw error;
      return Promise.all(files.map(single));
    }
  }

  async display(file: string): Promise<Media> {
    const { body, type } = await this.call(file, { type: 'display', file });
    return { body: toBuffer(body), type };
  }

  async thumbnail(file: string): Promise<Buffer> {
    return toBuffer(await this.call(file, { type: 'thumbnail', file }));
  }

  graphNames(onnxPath: string): Promise<GraphNames> {
    return this.call(onnxPath, { type: 'graphNames', onnxPath });
  }

  async verify(cardPath: string): Promise<void> {
    await this.call(cardPath, { type: 'verifyModel', cardPath });
  }

  /** Stops the process; requests in flight fail. Safe to call more than once. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const child = this.child;
    this.child = null;
    if (child) {
      this.end(child, 'was stopped');
      await child.port.terminate();
    }
  }

  private async call<T extends WorkType>(subject: string, work: { type: T } & UntrustedWork[T]['request']): Promise<UntrustedWork[T]['result']> {
    await this.gate;
    try {
      return (await this.send(work as Work)) as UntrustedWork[T]['result'];
    } catch (error) {
      if (!(error instanceof ProcessEnded)) throw this.failure(subject, error);
      return (await this.alone(subject, work as Work)) as UntrustedWork[T]['result'];
    }
  }

  /** Tries `work` again with nothing else in flight, so that a crash can only be its file's. */
  private async alone(subject: string, work: Work): Promise<unknown> {
    let last: ProcessEnded | null = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      const run = this.gate.then(() => this.whenIdle()).then(() => this.send(work));
      this.gate = run.then(() => undefined, () => undefined);
      try {
        return await run;
      } catch (error) {
        if (!(error instanceof ProcessEnded)) throw this.failure(subject, error);
        if (error.alone) throw new UntrustedFileCrashError(subject, error.how);
        last = error;
      }
    }
    throw new UntrustedFileCrashError(subject, last!.how);
  }

  /** A reply saying the work failed becomes an UntrustedFileError about `subject`. */
  private failure(subject: string, error: unknown): Error {
    if (!(error instanceof Error) || error.name !== 'ProcessReply') return error as Error;
    const reason = error.message.startsWith(`${subject}: `) ? error.message.slice(subject.length + 2) : error.message;
    return new UntrustedFileError(subject, reason);
  }

  private send(work: Work): Promise<unknown> {
    if (this.disposed) return Promise.reject(new Error('the untrusted-files process is disposed'));
    const child = this.running();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.end(child, `took longer than ${TIMEOUT_MS[work.type] / 1000} s and was stopped`);
        void child.port.terminate();
      }, TIMEOUT_MS[work.type]);
      child.pending.set(id, { resolve, reject, timer });
      child.port.postMessage({ ...work, id } as UntrustedRequest);
    });
  }

  private running(): Child {
    if (this.child && !this.child.ended) return this.child;
    const port = this.spawn();
    this.started++;
    const child: Child = { port, pending: new Map(), idle: [], ended: false };
    port.onMessage((reply) => this.receive(child, reply));
    port.onExit((how) => this.end(child, how));
    this.child = child;
    return child;
  }

  private receive(child: Child, reply: UntrustedReply): void {
    const pending = child.pending.get(reply.id);
    if (!pending) return;
    this.settle(child, reply.id, pending);
    if (reply.ok) pending.resolve(reply.value);
    else pending.reject(Object.assign(new Error(reply.message), { name: 'ProcessReply' }));
  }

  /** The process is gone: every request on it fails, each told whether it was alone. */
  private end(child: Child, how: string): void {
    if (child.ended) return;
    child.ended = true;
    if (this.child === child) this.child = null;
    const alone = child.pending.size === 1;
    for (const [id, pending] of [...child.pending]) {
      this.settle(child, id, pending);
      pending.reject(new ProcessEnded(how, alone));
    }
  }

  private settle(child: Child, id: number, pending: Pending): void {
    clearTimeout(pending.timer);
    child.pending.delete(id);
    if (child.pending.size === 0) for (const resolve of child.idle.splice(0)) resolve();
  }

  private whenIdle(): Promise<void> {
    const child = this.child;
    if (!child || child.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => child.idle.push(resolve));
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
