// Model versions and the project's active model. A family is a model name without its version (`loupe-shapes`);
// a trained version is NAME-vK, K one more than any version of the family the project knows (registered, exported
// into .loupe/models, or reserved by an unfinished training run); a model without a suffix is version 1. The active
// model is the one chosen last: by an activation (a training run that beat it, or a person), or by a pre-label run.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { ModelId } from '../../app/model/index.js';
import type { ProjectStore } from '../store/index.js';
import { learningRecords } from './records.js';

export interface VersionName {
  readonly family: string;
  readonly version: number;
}

/** `loupe-shapes-v3` is version 3 of `loupe-shapes`; a name without the suffix is version 1 of itself. */
export function versionOf(name: string): VersionName {
  const match = /^(.+)-v(\d+)$/.exec(name);
  return match ? { family: match[1]!, version: Number(match[2]) } : { family: name, version: 1 };
}

/** A project's own model folder, where trained versions are written. */
export function projectModelsDir(store: ProjectStore): string {
  return path.join(store.folder, '.loupe', 'models');
}

/** The next free version of a family: above every one registered, exported, or reserved by a training run or its folder. */
export function nextVersion(store: ProjectStore, family: string): number {
  const records = learningRecords(store);
  const known = [
    1,
    ...records.versions().filter((v) => v.family === family).map((v) => v.version),
    ...records.trainRuns().filter((r) => r.family === family).map((r) => r.version),
    ...store.models.list().map((m) => versionOf(m.name)).filter((v) => v.family === family).map((v) => v.version),
  ];
  const files = [projectModelsDir(store), path.join(store.folder, '.loupe', 'train')].flatMap((dir) => {
    try {
      return readdirSync(dir);
    } catch {
      return []; // not made yet
    }
  });
  const escaped = family.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^${escaped}-v(\\d+)(?:(?:-boxes|-zoo)?\\.(?:json|onnx|pt))?$`);
  for (const file of files) {
    const match = pattern.exec(file);
    if (match) known.push(Number(match[1]));
  }
  return Math.max(...known) + 1;
}

/** A path as stored: relative to the project folder when inside it (the folder may move), else absolute. */
export function storedPath(store: ProjectStore, file: string): string {
  const relative = path.relative(store.folder, path.resolve(file));
  return relative.startsWith('..') || path.isAbsolute(relative) ? path.resolve(file) : relative.split(path.sep).join('/');
}

export function resolveStored(store: ProjectStore, stored: string): string {
  return path.resolve(store.folder, stored);
}

export interface ChosenModel {
  readonly modelId: ModelId;
  /** The card it was chosen with; null for runs recorded before cards were. */
  readonly cardPath: string | null;
  readonly source: 'activated' | 'last-run';
  /** Why it was activated (activations only). */
  readonly reason: string | null;
}

/** The model chosen last: the latest activation or the latest pre-label run's model, whichever came later. */
export function chosenModel(store: ProjectStore): ChosenModel | null {
  const activation = learningRecords(store).lastActivation();
  const run = store.prelabel.list().at(-1);
  const last = store.prelabel.lastModel();
  if (activation && (!run || activation.at >= run.startedAt)) {
    return { modelId: activation.modelId, cardPath: resolveStored(store, activation.cardPath), source: 'activated', reason: activation.reason };
  }
  return last ? { modelId: last.modelId, cardPath: last.cardPath, source: 'last-run', reason: null } : null;
}
