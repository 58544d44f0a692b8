// The models: those registered in the open project, the model files installed (shipped, user, project) registered
// so the UI can pick one by id, the project's active model, imports, and downloads reported as 'models.download'.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { CardForm, EventPayload, Res } from '../../app/ipc/contract.js';
import { ConflictError, InvalidInputError, NotFoundError, shortModelNames, type ModelFormat, type ModelId, type ModelRecord } from '../../app/model/index.js';
import { hashFile } from '../fs/hash.js';
import { supportedProviders } from '../inference/providers.js';
import { DEFAULT_MODEL_NAME } from '../jobs/active-model.js';
import { chosenModel } from '../learning/versions.js';
import { parseCardForm } from '../models/card-form.js';
import { DownloadCancelledError, type DownloadSettings } from '../models/download.js';
import {
  downloadModel, importWithCard, importWithForm, importXAnyLabeling, listModels,
  type ImportTarget, type ModelChecks, type ModelEntry, type ModelFolder,
} from '../models/manager.js';
import type { ProjectStore } from '../store/index.js';
import type { ProjectService } from './project.js';

export type InstalledModel = Res<'models.installed'>['models'][number];
export type ActiveModel = Res<'models.installed'>['active'];

/** Where imported and downloaded models go: the user's model folder, or the open project's. */
export type ModelTarget = 'user' | 'project';

/**
 * A model to import from files main chose (its dialog, through files.choose): an .onnx with its card, with a filled-in
 * form, or an X-AnyLabeling YAML.
 */
export type ModelImport =
  | { readonly kind: 'card'; readonly onnxPath: string; readonly cardPath: string; readonly target: ModelTarget }
  | { readonly kind: 'form'; readonly onnxPath: string; readonly form: CardForm; readonly target: ModelTarget }
  | { readonly kind: 'xanylabeling'; readonly yamlPath: string; readonly format?: ModelFormat | undefined; readonly target: ModelTarget };

export interface ModelDownload {
  readonly url: string;
  readonly sha256?: string | undefined;
  readonly form: CardForm;
  readonly target: ModelTarget;
}

export interface ModelService {
  /** The models registered in the open project, each with a short name for tight places beside its full name. */
  list(): (ModelRecord & { readonly shortName: string })[];
  /** The model files installed, registered in the open project; unreadable cards with why; this platform's providers; the active model. */
  installed(): Promise<Res<'models.installed'>>;
  /** The card of a registered model, or of the project's active model when none is named. */
  cardFor(store: ProjectStore, modelId: ModelId | undefined): Promise<string>;
  /** The project's active model: its last run's, else the installed shipped default (registered here). */
  activeModelId(store: ProjectStore): Promise<ModelId | undefined>;
  /** Copies a model into a model folder (never overwriting) after checking its graph against its card. */
  import(request: ModelImport): Promise<Res<'models.import'>>;
  /** Starts a download (progress in 'models.download' events); the same URL and name again resumes a cancelled one. */
  download(request: ModelDownload): Promise<{ downloadId: number }>;
  cancelDownload(downloadId: number): void;
}

export interface ModelPlaces {
  /** The models shipped with the app (resources/models). */
  readonly shippedDir: string;
  /** The user's model folder (Electron's userData/models, ~/.loupe/models for `loupe serve`). */
  readonly userDir: string;
  /** Folders searched before the others (a --model-dir). */
  readonly extraFolders?: readonly ModelFolder[];
}

export interface ModelServiceOptions extends ModelPlaces {
  readonly emit: (event: 'models.download', payload: EventPayload<'models.download'>) => void;
  /** Opens each imported or downloaded model once to prove it matches its card (in the untrusted-files process). */
  readonly checks: ModelChecks;
  /** Shortest time between two progress events of one download (default 100 ms). */
  readonly progressIntervalMs?: number;
  /** Size limit, idle timeout and host policy of downloads (downloadSettingsFromEnv); the defaults when absent. */
  readonly download?: DownloadSettings;
}

/** A project's own model folder. */
export function projectModelDir(store: ProjectStore): string {
  return path.join(store.folder, '.loupe', 'models');
}

export function modelFolders(places: ModelPlaces, store: ProjectStore | null): ModelFolder[] {
  return [
    ...(places.extraFolders ?? []),
    { source: 'shipped', dir: places.shippedDir },
    { source: 'user', dir: places.userDir },
    ...(store ? [{ source: 'project' as const, dir: projectModelDir(store) }] : []),
  ];
}

export function createModelService(options: ModelServiceOptions, project: ProjectService): ModelService {
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

  async function toInstalled(entry: ModelEntry, store: ProjectStore | null): Promise<InstalledModel> {
    const { card, ...rest } = entry;
    const registered = store
      ? store.models.register({ name: card.name, format: card.format, labels: card.labels, card, path: entry.onnxPath, sha256: await sha256Of(entry) })
      : null;
    return { ...rest, classes: [...rest.classes], id: registered?.id ?? null };
  }

  async function installedIn(store: ProjectStore | null): Promise<InstalledModel[]> {
    const listing = await listModels(modelFolders(options, store));
    const models: InstalledModel[] = [];
    for (const entry of listing.models) models.push(await toInstalled(entry, store));
    return models;
  }

  function target(where: ModelTarget): ImportTarget {
    if (where === 'user') return { dir: options.userDir, source: 'user' };
    const store = project.current();
    if (!store) throw new ConflictError('no project is open to import the model into');
    return { dir: projectModelDir(store), source: 'project' };
  }

  const service: ModelService = {
    list() {
      const list = project.require().models.list();
      const short = shortModelNames(list.map((m) => ({ name: m.name, shortName: typeof m.card.short_name === 'string' ? m.card.short_name : null })));
      return list.map(({ id, name, format, labels, card, path: file }, i) => ({ id, name, format, labels, card, path: file, shortName: short[i]! }));
    },

    async installed() {
      const store = project.current();
      const listing = await listModels(modelFolders(options, store));
      const models: InstalledModel[] = [];
      for (const entry of listing.models) models.push(await toInstalled(entry, store));
      return { models, problems: [...listing.problems], providers: supportedProviders(), active: store ? activeInstalled(store, models) : null };
    },

    async activeModelId(store) {
      const last = chosenModel(store);
      if (last) return last.modelId;
      return activeInstalled(store, await installedIn(store))?.modelId ?? undefined;
    },

    async cardFor(store, modelId) {
      const { models } = await listModels(modelFolders(options, store));
      if (modelId === undefined) {
        const first = models[0];
        if (!first) throw new NotFoundError('no model is installed; import one first');
        return first.cardPath;
      }
      const stored = store.models.get(modelId);
      if (!stored) throw new NotFoundError(`model ${modelId} does not exist`);
      const listed = models.find((entry) => path.resolve(entry.onnxPath) === path.resolve(stored.path));
      return listed?.cardPath ?? stored.path.replace(/\.onnx$/i, '.json');
    },

    async import(request) {
      const into = target(request.target);
      const store = project.current();
      switch (request.kind) {
        case 'card':
          return { model: await toInstalled(await importWithCard(request.onnxPath, request.cardPath, into, options.checks), store), ignored: [] };
        case 'form':
          return { model: await toInstalled(await importWithForm(request.onnxPath, request.form, into, options.checks), store), ignored: [] };
        case 'xanylabeling': {
          const imported = await importXAnyLabeling(request.yamlPath, into, options.checks, request.format ? { format: request.format } : {});
          return { model: await toInstalled(imported.entry, store), ignored: [...imported.ignored] };
        }
      }
    },

    async download(request) {
      const into = target(request.target);
      parseCardForm(request.form, request.url);
      if (request.sha256 === undefined) {
        throw new InvalidInputError('a download needs the sha256 of the file, so it can be checked before it is used');
      }
      const store = project.current();
      const downloadId = nextDownload++;
      const controller = new AbortController();
      downloads.set(downloadId, controller);
      const interval = options.progressIntervalMs ?? 100;
      let last = { received: 0, total: null as number | null };
      let lastSent = 0;
      const report = (state: EventPayload<'models.download'>['state'], extra: Partial<EventPayload<'models.download'>> = {}) =>
        options.emit('models.download', { downloadId, state, ...last, error: null, model: null, ...extra });

      void downloadModel(request.url, request.form, into, options.checks, {
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
      if (!controller) throw new NotFoundError(`download ${downloadId} is not running`);
      controller.abort();
    },
  };
  return service;
}

/** Which installed model is the project's active one: the one chosen last (activated or run), else the shipped default, else none. */
function activeInstalled(store: ProjectStore, installed: readonly InstalledModel[]): ActiveModel {
  const last = chosenModel(store);
  const chosen =
    (last && installed.find((m) => m.id === last.modelId)) ??
    installed.find((m) => m.source === 'shipped' && m.name === DEFAULT_MODEL_NAME) ??
    null;
  return chosen && { cardPath: chosen.cardPath, modelId: chosen.id, name: chosen.name };
}
