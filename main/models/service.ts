// The model manager behind the contract's models.* channels: listing (registered in the open project so
// the UI can pick a model id), imports, and downloads reported through 'models.download' events.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { EventPayload, ParsedReq, Res } from '../../app/ipc/contract.js';
import { ModelCardError } from '../../app/model/card.js';
import { hashFile } from '../fs/hash.js';
import { supportedProviders } from '../inference/providers.js';
import { HandlerError } from '../ipc/handlers.js';
import type { ModelService } from '../ipc/project-handlers.js';
import type { ProjectStore } from '../store/index.js';
import { CardFormError, parseCardForm } from './card-form.js';
import { DownloadCancelledError, type DownloadSettings } from './download.js';
import {
  downloadModel, importWithCard, importWithForm, importXAnyLabeling, listModels,
  ModelExistsError, ModelImportError, type ImportTarget, type ModelEntry, type ModelFolder,
} from './manager.js';
import { XAnyLabelingConfigError } from './xanylabeling.js';

export interface ModelServiceOptions {
  /** The models shipped with the app (resources/models). */
  readonly shippedDir: string;
  /** The user's model folder (Electron's userData/models). */
  readonly userDir: string;
  /** Folders searched before the others (a --model-dir). */
  readonly extraFolders?: readonly ModelFolder[];
  readonly emit: (event: 'models.download', payload: EventPayload<'models.download'>) => void;
  /** Shortest time between two progress events of one download (default 100 ms). */
  readonly progressIntervalMs?: number;
  /** Size limit, idle timeout and host policy of downloads (downloadSettingsFromEnv); the defaults when absent. */
  readonly download?: DownloadSettings;
}

/** A project's own model folder. */
export function projectModelDir(store: ProjectStore): string {
  return path.join(store.folder, '.loupe', 'models');
}

export function modelFolders(options: Pick<ModelServiceOptions, 'shippedDir' | 'userDir' | 'extraFolders'>, store: ProjectStore | null): ModelFolder[] {
  return [
    ...(options.extraFolders ?? []),
    { source: 'shipped', dir: options.shippedDir },
    { source: 'user', dir: options.userDir },
    ...(store ? [{ source: 'project' as const, dir: projectModelDir(store) }] : []),
  ];
}

export function createModelService(options: ModelServiceOptions): ModelService {
  const hashes = new Map<string, string>();
  const downloads = new Map<number, AbortController>();
  let nextDownload = 1;

  /** The .onnx's sha256: from its card, else computed once per file version. */
  async function sha256Of(entry: ModelEntry): Promise<string> {
    if (entry.card.sha256) return entry.card.sha256;
    const info = await stat(entry.onnxPath);
    const key = `${entry.onnxPath}\0${info.size}\0${info.mtimeMs}`;
    let digest = hashes.get(key);
    if (!digest) {
      digest = await hashFile(entry.onnxPath);
      hashes.set(key, digest);
    }
    return digest;
  }

  async function toInstalled(entry: ModelEntry, store: ProjectStore | null): Promise<Res<'models.import'>['model']> {
    const { card, ...rest } = entry;
    const registered = store
      ? store.models.register({ name: card.name, format: card.format, labels: card.labels, card, path: entry.onnxPath, sha256: await sha256Of(entry) })
      : null;
    return { ...rest, classes: [...rest.classes], id: registered?.id ?? null };
  }

  function target(store: ProjectStore | null, where: 'user' | 'project'): ImportTarget {
    if (where === 'user') return { dir: options.userDir, source: 'user' };
    if (!store) throw new HandlerError('conflict', 'no project is open to import the model into');
    return { dir: projectModelDir(store), source: 'project' };
  }

  /** Bad files and forms are the caller's to fix: answered as invalid requests with their message. */
  async function answering<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof ModelExistsError) throw new HandlerError('conflict', error.message);
      if (
        error instanceof ModelImportError || error instanceof CardFormError ||
        error instanceof ModelCardError || error instanceof XAnyLabelingConfigError
      ) {
        throw new HandlerError('invalid-request', error.message);
      }
      throw error;
    }
  }

  return {
    async installed(store) {
      const listing = await listModels(modelFolders(options, store));
      const models = [];
      for (const entry of listing.models) models.push(await toInstalled(entry, store));
      return { models, problems: [...listing.problems], providers: supportedProviders() };
    },

    import(store, request: ParsedReq<'models.import'>) {
      return answering(async () => {
        const into = target(store, request.target);
        switch (request.kind) {
          case 'card':
            return { model: await toInstalled(await importWithCard(request.onnxPath, request.cardPath, into), store), ignored: [] };
          case 'form':
            return { model: await toInstalled(await importWithForm(request.onnxPath, request.form, into), store), ignored: [] };
          case 'xanylabeling': {
            const imported = await importXAnyLabeling(request.yamlPath, into, request.format ? { format: request.format } : {});
            return { model: await toInstalled(imported.entry, store), ignored: [...imported.ignored] };
          }
        }
      });
    },

    async download(store, request) {
      const into = target(store, request.target);
      await answering(async () => parseCardForm(request.form, request.url));
      if (request.sha256 === undefined) {
        throw new HandlerError('invalid-request', 'a download needs the sha256 of the file, so it can be checked before it is used');
      }
      const downloadId = nextDownload++;
      const controller = new AbortController();
      downloads.set(downloadId, controller);
      const interval = options.progressIntervalMs ?? 100;
      let last = { received: 0, total: null as number | null };
      let lastSent = 0;
      const report = (state: EventPayload<'models.download'>['state'], extra: Partial<EventPayload<'models.download'>> = {}) =>
        options.emit('models.download', { downloadId, state, ...last, error: null, model: null, ...extra });

      void downloadModel(request.url, request.form, into, {
        sha256: request.sha256,
        signal: controller.signal,
        settings: options.download,
        onProgress: (progress) => {
          last = { received: progress.received, total: progress.total };
          const now = Date.now();
          if (now - lastSent >= interval) {
            lastSent = now;
            report('running');
          }
        },
      })
        .then(async (entry) => report('done', { model: await toInstalled(entry, store) }))
        .catch((error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          report(error instanceof DownloadCancelledError ? 'cancelled' : 'failed', { error: message });
        })
        .finally(() => downloads.delete(downloadId));
      return { downloadId };
    },

    cancelDownload(downloadId) {
      const controller = downloads.get(downloadId);
      if (!controller) throw new HandlerError('not-found', `download ${downloadId} is not running`);
      controller.abort();
    },
  };
}
