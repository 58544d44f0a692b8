// The contract's handlers over one open project: the store, and the pre-label and export services
// where they are wired. The same map serves the bridge and Electron's ipcMain.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { FormatError, PROBLEMS_LISTED } from '../../app/formats/common.js';
import {
  NEEDS_REVIEW, reviewSettingsSchema,
  type AnnotationChanges, type ImportFormat, type ParsedReq, type ProjectSummary, type Res, type ReviewSettings, type RunProgress,
} from '../../app/ipc/contract.js';
import { shortModelNames, type ImageRecord, type ModelId, type RunId } from '../../app/model/index.js';
import { exportDataset, importAnnotations } from '../exchange/service.js';
import { FileError } from '../fs/fileError.js';
import { scanFolder } from '../fs/index.js';
import { ImageFailure } from '../inference/decode.js';
import { PromptUnavailableError, type PromptService } from '../inference/prompt-service.js';
import { DEFAULT_MODEL_NAME } from '../jobs/active-model.js';
import { learningHandlers } from '../learning/handlers.js';
import type { LearningService } from '../learning/service.js';
import { chosenModel } from '../learning/versions.js';
import { RunLockedError, type ProjectStore } from '../store/index.js';
import { exportDestination } from './coco-export.js';
import { HandlerError, type Handlers } from './handlers.js';

export interface PrelabelService {
  start(store: ProjectStore, request: ParsedReq<'prelabel.start'>): Promise<RunProgress>;
  pause(runId: RunId): void;
  resume(runId: RunId): void;
  cancel(runId: RunId): void;
}

/** The model manager as the handlers see it (main/models/service.ts); `store` is the open project, if any. */
export interface ModelService {
  /** The installed models; the handler adds the project's active one. */
  installed(store: ProjectStore | null): Promise<Omit<Res<'models.installed'>, 'active'>>;
  import(store: ProjectStore | null, request: ParsedReq<'models.import'>): Promise<Res<'models.import'>>;
  download(store: ProjectStore | null, request: ParsedReq<'models.download'>): Promise<Res<'models.download'>>;
  cancelDownload(downloadId: number): void;
}

export type CocoExporter = (store: ProjectStore, request: ParsedReq<'export.coco'>) => Promise<Res<'export.coco'>>;

/**
 * Main's own file dialog for an import's source (a COCO file, a LabelMe folder, a YOLO data.yaml): the path chosen,
 * or null when the person cancelled. The renderer never names the path.
 */
export type ImportSourceChooser = (format: ImportFormat) => Promise<string | null>;

export interface ProjectServices {
  /** The open project; null when none is. */
  current(): ProjectStore | null;
  /** Opens (scanning) a folder as the current project. */
  open(folder: string): Promise<ProjectStore>;
  readonly prelabel?: PrelabelService;
  readonly exportCoco?: CocoExporter;
  readonly models?: ModelService;
  /** Absent where main has no dialog to show (a browser page over the bridge): import.annotations then says so. */
  readonly chooseImportSource?: ImportSourceChooser;
  /** Box prompts with the model's heads (prompt.*); closed when another project opens. */
  readonly prompt?: PromptService;
  /** Training, evaluation and comparison of model versions (main/learning). */
  readonly learning?: LearningService;
}

export function createProjectHandlers(services: ProjectServices): Handlers {
  const store = (): ProjectStore => {
    const open = services.current();
    if (!open) throw new HandlerError('conflict', 'no project is open');
    return open;
  };
  const image = (id: number): ImageRecord => {
    const found = store().images.get(id as ImageRecord['id']);
    if (!found) throw new HandlerError('not-found', `image ${id} does not exist`);
    return found;
  };
  const models = (): ModelService => {
    if (!services.models) throw new HandlerError('failed', 'the model manager is not available in this build');
    return services.models;
  };
  const prompts = (): PromptService => {
    if (!services.prompt) throw new HandlerError('failed', 'box prompts are not available in this build');
    return services.prompt;
  };
  /** A model without split graphs is the request's to change; an image that cannot be decoded is a failure to read. */
  const prompting = async <T>(imageId: number, work: (open: ProjectStore) => Promise<T>): Promise<T> => {
    image(imageId);
    try {
      return await work(store());
    } catch (error) {
      if (error instanceof PromptUnavailableError) throw new HandlerError('conflict', error.message);
      if (error instanceof ImageFailure) throw new HandlerError('failed', `${image(imageId).path}: ${error.message}`);
      throw error;
    }
  };
  const prelabel = (): PrelabelService => {
    if (!services.prelabel) throw new HandlerError('failed', 'pre-labelling is not available in this build');
    return services.prelabel;
  };

  /** One rescan at a time per project: a second request while one runs gets the same answer. */
  const rescans = new WeakMap<ProjectStore, Promise<Res<'project.rescan'>>>();

  return {
    'project.open': async ({ folder }) => {
      const absolute = path.resolve(folder);
      const info = await stat(absolute).catch(() => null);
      if (!info) throw new HandlerError('not-found', `${absolute}: no such folder`);
      if (!info.isDirectory()) throw new HandlerError('invalid-request', `${absolute}: not a folder`);
      await services.prompt?.close();
      return summary(await services.open(absolute));
    },
    'project.summary': () => summary(store()),
    'project.rescan': () => {
      const open = store();
      let running = rescans.get(open);
      if (!running) {
        running = scanFolder(open)
          .then(({ files, added, changed, moved, missing, errors }) => ({ files, added, changed, moved, missing, errors }))
          .finally(() => rescans.delete(open));
        rescans.set(open, running);
      }
      return running;
    },
    'project.settings': () => ({ settings: storedSettings(store().meta.get(SETTINGS_KEY)) }),
    'project.saveSettings': ({ settings }) => (store().meta.set(SETTINGS_KEY, settings), { ok: true as const }),

    'images.list': ({ after, limit, filter, sort }) => store().images.list({ ...filter, after: after ?? null, limit, ...(sort ? { sort } : {}) }),
    'images.get': ({ id }) => image(id),
    'images.setStatus': ({ id, status }) => {
      image(id);
      if (status === 'reviewed') return store().review.markReviewed(id, null).image;
      store().images.setStatus(id, status);
      return image(id);
    },
    'images.nextToReview': ({ afterPath }) => {
      const images = store().images;
      const firstAfter = (after: string | null): ImageRecord | null => {
        const candidates = NEEDS_REVIEW.flatMap((status) => images.list({ status, after, limit: 1 }).items);
        candidates.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
        return candidates[0] ?? null;
      };
      return { image: firstAfter(afterPath) ?? (afterPath === null ? null : firstAfter(null)) };
    },

    'annotations.list': ({ imageId }) => {
      image(imageId);
      return { annotations: store().annotations.forImage(imageId) };
    },
    'annotations.apply': ({ imageId, changes, status }) => {
      image(imageId);
      store().annotations.applyChanges(imageId, toStoreChanges(changes), 'human', status === undefined ? {} : { status });
      return { annotations: store().annotations.forImage(imageId) };
    },

    'review.markReviewed': ({ imageId, threshold, hiddenCategoryIds }) => {
      image(imageId);
      const { changes, accepted, rejected, kept, dropped, previousStatus, image: updated } = store().review.markReviewed(imageId, {
        threshold,
        hiddenCategoryIds,
      });
      return {
        changes: { added: [...changes.added], updated: [...changes.updated], removed: [...changes.removed] },
        accepted, rejected, kept, dropped, previousStatus, image: updated,
      };
    },

    'categories.list': () => ({ categories: store().categories.list() }),
    'categories.create': ({ name, color }) => {
      if (store().categories.getByName(name)) throw new HandlerError('conflict', `a class named '${name}' already exists`);
      return store().categories.create(name, color);
    },

    'models.list': () => {
      const list = store().models.list();
      const short = shortModelNames(list.map((m) => ({ name: m.name, shortName: typeof m.card.short_name === 'string' ? m.card.short_name : null })));
      return { models: list.map(({ id, name, format, labels, card, path }, i) => ({ id, name, format, labels, card, path, shortName: short[i]! })) };
    },

    'models.installed': async () => {
      const open = services.current();
      const installed = await models().installed(open);
      return { ...installed, active: open ? activeInstalled(open, installed.models) : null };
    },
    'models.import': (request) => models().import(services.current(), request),
    'models.download': (request) => models().download(services.current(), request),
    'models.cancelDownload': ({ downloadId }) => (models().cancelDownload(downloadId), { ok: true as const }),

    'prelabel.start': async (request) => {
      const open = store();
      const live = open.runLock.current();
      if (live) throw new HandlerError('conflict', new RunLockedError(live).message);
      const modelId = request.modelId ?? (await activeModelId(open));
      try {
        return await prelabel().start(open, { ...request, ...(modelId !== undefined ? { modelId } : {}) });
      } catch (error) {
        if (error instanceof RunLockedError) throw new HandlerError('conflict', error.message);
        throw error;
      }
    },
    'prelabel.active': () => {
      const live = store().runLock.current();
      return { run: live && { ...live } };
    },
    'prelabel.pause': ({ runId }) => (prelabel().pause(runId), { ok: true as const }),
    'prelabel.resume': ({ runId }) => (prelabel().resume(runId), { ok: true as const }),
    'prelabel.cancel': ({ runId }) => (prelabel().cancel(runId), { ok: true as const }),

    'prompt.status': ({ modelId }) => prompts().status(store(), modelId),
    'prompt.prepare': (request) => prompting(request.imageId, (open) => prompts().prepare(open, request)),
    'prompt.segment': (request) => prompting(request.imageId, (open) => prompts().segment(open, request)),

    'export.coco': (request) => {
      if (!services.exportCoco) throw new HandlerError('failed', 'COCO export is not available in this build');
      const { path } = request;
      if (path !== undefined && !path.toLowerCase().endsWith('.json')) throw new HandlerError('invalid-request', `export path must end in .json: ${path}`);
      return services.exportCoco(store(), request);
    },
    'export.dataset': async ({ format, ...options }) => {
      const open = store();
      const beside = format === 'labelme' && options.besideImages;
      const out = beside ? null : await exportDestination(open, format);
      try {
        const { summary: _summary, ...result } = await exportDataset(open, format, out, { ...options, besideImages: beside });
        return result;
      } catch (error) {
        throw asHandlerError(error);
      }
    },

    'import.annotations': async ({ format }) => {
      const open = store();
      if (!services.chooseImportSource) {
        throw new HandlerError('failed', `importing annotations is not available in the browser: it needs the desktop app's file dialog (or \`loupe import <folder> --format ${format} <file>\`)`);
      }
      const source = await services.chooseImportSource(format);
      const nothing = { imported: 0, images: 0, newCategories: [], alreadyPresent: 0, notes: [] };
      if (source === null) return { source, ...nothing, problems: [] };
      try {
        return { source, ...(await importAnnotations(open, format, source)), problems: [] };
      } catch (error) {
        const problems = problemsOf(error);
        if (problems === null) throw error;
        return { source, ...nothing, problems };
      }
    },

    ...learningHandlers(store, services.learning),
  };

  /** The active model's id: the one chosen last (activated or run), else the installed shipped default (registered by models.installed). */
  async function activeModelId(open: ProjectStore): Promise<ModelId | undefined> {
    const last = chosenModel(open);
    if (last) return last.modelId;
    if (!services.models) return undefined;
    const { models: installed } = await services.models.installed(open);
    return activeInstalled(open, installed)?.modelId ?? undefined;
  }
}

type InstalledModel = Res<'models.installed'>['models'][number];

/** Where project.saveSettings keeps the review screen's settings (project_meta). */
const SETTINGS_KEY = 'review-settings';

/** The stored settings, field by field: one a later or earlier version wrote differently is dropped, not the rest. */
function storedSettings(value: unknown): ReviewSettings {
  if (typeof value !== 'object' || value === null) return {};
  const settings: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(reviewSettingsSchema.shape)) {
    const parsed = schema.safeParse((value as Record<string, unknown>)[key]);
    if (parsed.success && parsed.data !== undefined) settings[key] = parsed.data;
  }
  return settings as ReviewSettings;
}

/** Which installed model is the project's active one: the one chosen last (activated or run), else the shipped default, else none. */
function activeInstalled(store: ProjectStore, installed: readonly InstalledModel[]): Res<'models.installed'>['active'] {
  const last = chosenModel(store);
  const chosen =
    (last && installed.find((m) => m.id === last.modelId)) ??
    installed.find((m) => m.source === 'shipped' && m.name === DEFAULT_MODEL_NAME) ??
    null;
  return chosen && { cardPath: chosen.cardPath, modelId: chosen.id, name: chosen.name };
}

/** Every problem of an input that was refused whole (nothing written), one line each; null for another failure. */
function problemsOf(error: unknown): string[] | null {
  if (error instanceof FormatError) {
    const listed = error.problems.slice(0, PROBLEMS_LISTED).map((p) => (p.where ? `${p.where}: ${p.reason}` : p.reason));
    const more = error.problems.length - listed.length;
    return more > 0 ? [...listed, `and ${more} more`] : listed;
  }
  if (error instanceof FileError) return [`${error.file}: ${error.reason}`, ...error.details];
  return null;
}

/** A file or format problem of an export as the one-line refusal it is. */
function asHandlerError(error: unknown): unknown {
  if (error instanceof FormatError || error instanceof FileError) return new HandlerError('failed', error.message);
  return error;
}

function summary(store: ProjectStore): ProjectSummary {
  const byStatus = store.images.countByStatus();
  return { folder: store.folder, total: Object.values(byStatus).reduce((a, b) => a + b, 0), byStatus };
}

/** The contract carries before/after for updates (for undo); the store needs only the after state. */
function toStoreChanges(changes: AnnotationChanges) {
  return {
    added: changes.added,
    updated: changes.updated.map((u) => u.after),
    removed: changes.removed.map((a) => a.id),
  };
}
