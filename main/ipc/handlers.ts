// One handler per contract channel, each a call into the domain services (main/services): the same map serves the
// bridge and Electron's ipcMain. A handler only translates a validated request into a service call and its result
// into the contract's reply; what may go wrong is the services' to say (domain errors, mapped by the dispatcher).
// A path arrives only as a handle main handed out (services.files), turned back into the path here.
import type { Channel, ParsedReq, Res } from '../../app/ipc/contract.js';
import type { Services } from '../services/index.js';

export type Handlers = { readonly [C in Channel]: (request: ParsedReq<C>) => Promise<Res<C>> | Res<C> };

const ok = { ok: true } as const;

export function createHandlers(services: Services): Handlers {
  const { project, images, annotations, categories, models, prelabel, prompt, learning, exports, imports, files } = services;
  return {
    'project.open': async ({ folder }) => (await project.open(files.resolve('project-folder', folder)), project.summary()),
    'project.summary': () => project.summary(),
    'project.rescan': () => project.rescan(),
    'project.settings': () => ({ settings: project.settings() }),
    'project.saveSettings': ({ settings }) => (project.saveSettings(settings), ok),

    'images.list': ({ after, limit, filter, sort }) => images.list({ ...filter, after: after ?? null, limit, ...(sort && { sort }) }),
    'images.get': ({ id }) => images.get(id),
    'images.setStatus': ({ id, status }) => images.setStatus(id, status),
    'images.nextToReview': ({ afterPath }) => ({ image: images.nextToReview(afterPath) }),

    'annotations.list': ({ imageId }) => ({ annotations: annotations.list(imageId) }),
    'annotations.apply': ({ imageId, changes, status }) => ({ annotations: annotations.apply(imageId, changes, status) }),
    'review.markReviewed': ({ imageId, threshold, hiddenCategoryIds }) => {
      const { changes, accepted, rejected, kept, dropped, previousStatus, image } = annotations.markReviewed(imageId, { threshold, hiddenCategoryIds });
      return {
        changes: { added: [...changes.added], updated: [...changes.updated], removed: [...changes.removed] },
        accepted, rejected, kept, dropped, previousStatus, image,
      };
    },

    'categories.list': () => ({ categories: categories.list() }),
    'categories.create': ({ name, color }) => categories.create(name, color),

    'models.list': () => ({ models: models.list() }),
    'models.installed': () => models.installed(),
    'models.import': (request) => {
      const { target } = request;
      switch (request.kind) {
        case 'card':
          return models.import({ kind: 'card', onnxPath: files.resolve('model-onnx', request.onnx), cardPath: files.resolve('model-card', request.card), target });
        case 'form':
          return models.import({ kind: 'form', onnxPath: files.resolve('model-onnx', request.onnx), form: request.form, target });
        case 'xanylabeling':
          return models.import({ kind: 'xanylabeling', yamlPath: files.resolve('model-yaml', request.yaml), format: request.format, target });
      }
    },
    'models.download': (request) => models.download(request),
    'models.cancelDownload': ({ downloadId }) => (models.cancelDownload(downloadId), ok),

    'prelabel.start': (request) => prelabel.start(request),
    'prelabel.active': () => ({ run: prelabel.active() }),
    'prelabel.pause': ({ runId }) => (prelabel.pause(runId), ok),
    'prelabel.resume': ({ runId }) => (prelabel.resume(runId), ok),
    'prelabel.cancel': ({ runId }) => (prelabel.cancel(runId), ok),

    'prompt.status': ({ modelId }) => prompt.status(modelId),
    'prompt.prepare': (request) => prompt.prepare(request),
    'prompt.segment': (request) => prompt.segment(request),

    'export.coco': async ({ file, scope, reviewedOnly, ...options }) => {
      const destination = file === undefined ? undefined : files.resolve('export-coco', file);
      const result = await exports.coco({ ...options, scope: scope ?? (reviewedOnly === false ? 'all' : 'reviewed') }, destination);
      return { ...result, leftOut: [...result.leftOut], staleLeftOut: [...result.staleLeftOut] };
    },
    'export.dataset': ({ format, ...options }) => exports.dataset(format, options),

    'files.choose': async ({ purpose }) => ({ file: await files.choose(purpose) }),
    'import.annotations': ({ format }) => imports.annotations(format),

    'learning.models': () => learning.models(),
    'learning.activate': ({ modelId }) => (learning.activate(modelId), ok),
    'learning.train': (request) => learning.train(request),
    'learning.evaluate': (request) => learning.evaluate(request),
    'learning.compare': (request) => learning.compare(request),
    'learning.cancel': () => (learning.cancel(), ok),
    'learning.comparison': ({ imageId }) => learning.comparison(imageId),
  };
}
