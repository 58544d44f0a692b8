// The contract's learning.* handlers over the open project: the model table, activation and an image's comparison
// read and write the store; training, evaluation and comparison run as jobs of the learning service (service.ts).
import type { Handlers } from '../ipc/handlers.js';
import { HandlerError } from '../ipc/handlers.js';
import type { ProjectStore } from '../store/index.js';
import { comparisonReply } from './comparison.js';
import { learningRecords } from './records.js';
import { cardOf, modelTable, type LearningService } from './service.js';
import { storedPath } from './versions.js';

type LearningChannel = 'learning.models' | 'learning.activate' | 'learning.train' | 'learning.evaluate' | 'learning.compare' | 'learning.cancel' | 'learning.comparison';

export function learningHandlers(store: () => ProjectStore, service: LearningService | undefined): Pick<Handlers, LearningChannel> {
  const learning = (): LearningService => {
    if (!service) throw new HandlerError('failed', 'training and evaluation are not available in this build');
    return service;
  };
  return {
    'learning.models': () => ({ models: modelTable(store()), job: service?.job() ?? null }),
    'learning.activate': ({ modelId }) => {
      const card = cardOf(store(), modelId);
      learningRecords(store()).activate(modelId, storedPath(store(), card), 'set active by a person in the model table');
      return { ok: true as const };
    },
    'learning.train': (request) => learning().train(store(), request),
    'learning.evaluate': (request) => learning().evaluate(store(), request),
    'learning.compare': (request) => learning().compare(store(), request),
    'learning.cancel': () => (learning().cancel(), { ok: true as const }),
    'learning.comparison': ({ imageId }) => {
      if (!store().images.get(imageId)) throw new HandlerError('not-found', `image ${imageId} does not exist`);
      return comparisonReply(store(), imageId);
    },
  };
}
