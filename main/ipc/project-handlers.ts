// The contract's handlers over one open project: the store, and the pre-label and export services
// where they are wired. The same map serves the bridge and Electron's ipcMain.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { NEEDS_REVIEW, type ParsedReq, type ProjectSummary, type Res, type RunProgress } from '../../app/ipc/contract.js';
import { shortModelNames, type ImageRecord, type ModelId, type RunId } from '../../app/model/index.js';
import { DEFAULT_MODEL_NAME } from '../jobs/active-model.js';
import { RunLockedError, type ProjectStore } from '../store/index.js';
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

export interface ProjectServices {
  /** The open project; null when none is. */
  current(): ProjectStore | null;
  /** Opens (scanning) a folder as the current project. */
  open(folder: string): Promise<ProjectStore>;
  readonly prelabel?: PrelabelService;
  readonly exportCoco?: CocoExporter;
  readonly models?: ModelService;
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
  const prelabel = (): PrelabelService => {
    if (!services.prelabel) throw new HandlerError('failed', 'pre-labelling is not available in this build');
    return services.prelabel;
  };

  return {
    'project.open': async ({ folder }) => {
      const absolute = path.resolve(folder);
      const info = await stat(absolute).catch(() => null);
      if (!info) throw new HandlerError('not-found', `${absolute}: no such folder`);
      if (!info.isDirectory()) throw new HandlerError('invalid-request', `${absolute}: not a folder`);
      return summary(await services.open(absolute));
    },
    'project.summary': () => summary(store()),

    'images.list': ({ after, limit, filter }) => store().images.list({ ...filter, after: after ?? null, limit }),
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
      store().annotations.apply(imageId, changes, 'human', status === undefined ? {} : { status });
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

    'export.coco': (request) => {
      if (!services.exportCoco) throw new HandlerError('failed', 'COCO export is not available in this build');
      const { path } = request;
      if (path !== undefined && !path.toLowerCase().endsWith('.json')) throw new HandlerError('invalid-request', `export path must end in .json: ${path}`);
      return services.exportCoco(store(), request);
    },
  };

  /** The active model's id: the last run's, else the installed shipped default (registered by models.installed). */
  async function activeModelId(open: ProjectStore): Promise<ModelId | undefined> {
    const last = open.prelabel.lastModel();
    if (last) return last.modelId;
    if (!services.models) return undefined;
    const { models: installed } = await services.models.installed(open);
    return activeInstalled(open, installed)?.modelId ?? undefined;
  }
}

type InstalledModel = Res<'models.installed'>['models'][number];

/** Which installed model is the project's active one: the last run's, else the shipped default, else none. */
function activeInstalled(store: ProjectStore, installed: readonly InstalledModel[]): Res<'models.installed'>['active'] {
  const last = store.prelabel.lastModel();
  const chosen =
    (last && installed.find((m) => m.id === last.modelId)) ??
    installed.find((m) => m.source === 'shipped' && m.name === DEFAULT_MODEL_NAME) ??
    null;
  return chosen && { cardPath: chosen.cardPath, modelId: chosen.id, name: chosen.name };
}

function summary(store: ProjectStore): ProjectSummary {
  const byStatus = store.images.countByStatus();
  return { folder: store.folder, total: Object.values(byStatus).reduce((a, b) => a + b, 0), byStatus };
}
