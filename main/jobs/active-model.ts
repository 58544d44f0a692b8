// The project's active model: the one chosen last (activated, by a training run that beat it or by a person, or used
// by the last pre-label run), else the shipped default. The CLI's `prelabel` and the app's model picker both start
// from it, so a project keeps to one model unless a person picks another.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chosenModel } from '../learning/versions.js';
import type { ProjectStore } from '../store/index.js';

/** The model shipped in resources/models that a project starts with. */
export const DEFAULT_MODEL_NAME = 'loupe-shapes';

/** The shipped default's card, found from dist/main/jobs or main/jobs alike. */
export function shippedModelCard(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '../../..') : path.resolve(here, '../..');
  return path.join(root, 'resources', 'models', `${DEFAULT_MODEL_NAME}.json`);
}

export interface ActiveModel {
  readonly cardPath: string;
  /**
   * 'activated': the model made active last (after the latest run); 'last-run': the card of the project's latest run;
   * 'default': the shipped model (none chosen yet, or its card is gone).
   */
  readonly source: 'activated' | 'last-run' | 'default';
  /** Why the last run's model is not used, when its card is no longer there. */
  readonly note: string | null;
}

/** The card to pre-label with when none is named. */
export function activeModelCard(store: ProjectStore): ActiveModel {
  const last = chosenModel(store);
  if (last) {
    const stored = store.models.get(last.modelId);
    // Runs before cards were recorded name only the .onnx; its card sits beside it under the same name.
    const card = last.cardPath ?? stored?.path.replace(/\.onnx$/i, '.json') ?? null;
    if (card && existsSync(card)) return { cardPath: card, source: last.source, note: null };
    if (stored) {
      const whose = last.source === 'activated' ? 'active' : "last run's";
      return { cardPath: shippedModelCard(), source: 'default', note: `the ${whose} model ${stored.name} is no longer at ${card}; using ${DEFAULT_MODEL_NAME}` };
    }
  }
  return { cardPath: shippedModelCard(), source: 'default', note: null };
}
