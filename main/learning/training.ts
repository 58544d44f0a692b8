// A training run: from the project's reviewed truth to a new model version, in stages that each survive a crash.
//
//   data    the reviewed truth exported and split by image (training-data.ts) into the run's folder
//   train   tools/model fine-tunes the checkpoint of the model it starts from (class heads matched by name), or a
//           new network (--arch), reporting progress as JSON lines; Ctrl-C stops at the next checkpoint
//   export  tools/model scores the checkpoint on the held-out split and exports the three ONNX layouts, their cards
//           and NAME-vK.pt, which are then moved into <folder>/.loupe/models (never over another file)
//   score   the new version and the active model run on the held-out images in the worker pool and are scored with
//           app/eval's COCOeval on the same images; the new version becomes active when its mask AP is higher
//           (or when asked to), and both evaluations are stored
//
// One run at a time per project (records.ts claims it); the same settings again continue an unfinished run where it
// stopped, with the same data, and tools/model resumes from its last checkpoint.
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ModelCard } from '../../app/model/card.js';
import type { ImageRecord, ModelId } from '../../app/model/index.js';
import { FileError } from '../fs/fileError.js';
import { hashFile } from '../fs/hash.js';
import type { WorkerPort } from '../inference/client.js';
import { readModelCard } from '../inference/model.js';
import type { ProviderChoice } from '../inference/providers.js';
import { activeModelCard } from '../jobs/active-model.js';
import { HEARTBEAT_MS, type ProjectStore } from '../store/index.js';
import { evaluationRecord, type ModelScore } from './evaluation.js';
import { exportedFiles, moveNew } from './model-files.js';
import { findPython, runModelTool, waitForExit, type ModelToolRun, type PythonInfo } from './python.js';
import { learningRecords, type TrainRun, type TrainStage } from './records.js';
import { predict, score, truthOf } from './scoring.js';
import { readTrainingData, writeTrainingData, type TrainingData } from './training-data.js';
import { nextVersion, projectModelsDir, storedPath, versionOf } from './versions.js';

export const ARCHITECTURES = ['loupe-small', 'resnet50-fpn-v2', 'mobilenet-v3-fpn'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** What a person asks of a training run (`loupe train`'s options, the app's dialog). */
export interface TrainSettings {
  /** The card of the model to fine-tune; default the project's active model. */
  readonly from?: string;
  /** The family name; the version is added (NAME-v2, -v3, ...). Default the starting model's family. */
  readonly name?: string;
  readonly iterations?: number;
  /** A time budget: the schedule ends when either the iterations or the minutes run out. */
  readonly minutes?: number;
  readonly device?: 'cpu' | 'cuda';
  /** A new network instead of a fine-tune (tools/model --arch), optionally from torchvision's COCO weights. */
  readonly arch?: Architecture;
  readonly pretrained?: 'coco';
  /** Make the new version active whatever its score. */
  readonly activate?: boolean;
  /** Input size to train (and run) at; default the starting model's. */
  readonly minSize?: number;
  readonly maxSize?: number;
  /** Images per step; default 2 on a CPU, 4 on a GPU. */
  readonly batchSize?: number;
}

export interface TrainJobOptions extends TrainSettings {
  readonly store: ProjectStore;
  /** The Python to train with; found and checked (findPython) when absent. */
  readonly python?: PythonInfo;
  /** Where the scoring stage runs the models, and in how many workers. */
  readonly provider?: ProviderChoice;
  readonly workers?: number;
  readonly workerPort?: () => WorkerPort;
}

/** Used when neither iterations nor minutes are given: about half an hour on a laptop's CPU. */
export const DEFAULT_MINUTES = 30;
export const DEFAULT_ITERATIONS = 3000;
/** With only a time budget, the iterations are no limit. */
const ITERATIONS_FOR_TIME_BUDGET = 1_000_000;

export interface TrainProgress {
  readonly runId: number;
  readonly name: string;
  readonly stage: TrainStage;
  /** 'stopping' after a cancel, until the checkpoint is written. */
  readonly state: 'running' | 'stopping';
  readonly iteration: number | null;
  readonly iterations: number | null;
  readonly loss: number | null;
  readonly imagesPerSecond: number | null;
  /** Seconds left in training; null until known. */
  readonly etaSeconds: number | null;
  /** Seconds trained so far (earlier sessions of a resumed run included). */
  readonly elapsedSeconds: number | null;
  /** True when the time budget, not the iterations, ends the schedule (`iterations` is then no limit). */
  readonly timeBudget: boolean;
  /** Images scored, in the score stage. */
  readonly scored: { readonly done: number; readonly total: number } | null;
}

export type TrainEvent =
  | { readonly type: 'progress'; readonly progress: TrainProgress }
  /** Something a person should read: what the data holds, what was resumed, what is happening. */
  | { readonly type: 'note'; readonly message: string };

export interface ScoreLine {
  readonly name: string;
  readonly modelId: ModelId;
  readonly maskAP: number | null;
  readonly boxAP: number | null;
}

export interface TrainSummary {
  readonly state: 'completed' | 'interrupted' | 'failed';
  readonly runId: number;
  /** NAME-vK. */
  readonly name: string;
  readonly runDir: string;
  readonly resumed: boolean;
  readonly error: string | null;
  readonly from: { readonly name: string; readonly cardPath: string } | null;
  readonly data: {
    readonly trainImages: number;
    readonly heldoutImages: number;
    readonly trainInstances: number;
    readonly heldoutInstances: number;
    readonly classes: readonly string[];
    /** Classes without reviewed instances to learn from, left out of the model. */
    readonly leftOut: readonly string[];
    readonly leftOutImages: readonly { readonly path: string; readonly reason: string }[];
  } | null;
  readonly training: {
    readonly iteration: number;
    readonly iterations: number;
    readonly seconds: number;
    readonly reason: string;
    readonly device: string;
    /** Classes the starting model did not have (they start fresh) and those it had but the data lacks. */
    readonly newClasses: readonly string[];
    readonly missingClasses: readonly string[];
  } | null;
  readonly model: { readonly id: ModelId; readonly name: string; readonly cardPath: string; readonly files: readonly string[] } | null;
  /** Held-out scores of the new version and of the model that was active, on the same images. */
  readonly scores: { readonly heldoutImages: number; readonly model: ScoreLine; readonly previous: ScoreLine | null } | null;
  readonly activated: boolean;
  /** Which model is active now and why. */
  readonly decision: string;
}

class Stopped extends Error {
  override name = 'Stopped';
}

interface StartModel {
  readonly cardPath: string;
  readonly card: ModelCard;
  readonly checkpoint: string;
  readonly modelId: ModelId;
}

export class TrainingJob {
  private readonly listeners = new Set<(event: TrainEvent) => void>();
  private stopping = false;
  private child: ModelToolRun | null = null;
  private progressState: TrainProgress;
  private ran = false;

  private constructor(
    private readonly options: TrainJobOptions,
    private readonly python: PythonInfo,
    readonly run: TrainRun,
    /** True when this continues an unfinished run with the same settings. */
    readonly resumed: boolean,
    private readonly start: StartModel | null,
    private readonly params: TrainParams,
  ) {
    this.progressState = {
      runId: run.id, name: run.name, stage: run.stage, state: 'running', iteration: null, iterations: null, loss: null,
      imagesPerSecond: null, etaSeconds: null, elapsedSeconds: null, timeBudget: params.iterations >= ITERATIONS_FOR_TIME_BUDGET, scored: null,
    };
  }

  /**
   * Checks the settings and Python, reads the starting model's checkpoint, and claims the project's training run:
   * an unfinished run with the same settings is continued, else a new version is reserved. Throws
   * TrainingLockedError while another process trains this project, PythonError without a usable Python, FileError
   * for a starting model that cannot be fine-tuned.
   */
  static async create(options: TrainJobOptions): Promise<TrainingJob> {
    const { store } = options;
    if (options.pretrained && !options.arch) throw new FileError(store.folder, '--pretrained coco goes with --arch (torchvision\'s COCO weights of that network)');
    if (options.arch && options.from) throw new FileError(options.from, '--arch starts a new network; it cannot also fine-tune --from a model');
    const python = options.python ?? (await findPython({ cuda: options.device === 'cuda' }));
    const start = options.arch ? null : await startModel(store, options.from ?? activeModelCard(store).cardPath);
    const family = familyName(store, options, start);
    const params = trainParams(options, start, family);
    const records = learningRecords(store);
    const key = JSON.stringify(params);
    const { run, resumed, orphanChildPid } = records.claimTrainRun(
      (unfinished) => unfinished.filter((r) => JSON.stringify(r.params) === key).at(-1),
      () => {
        const version = nextVersion(store, family);
        const name = `${family}-v${version}`;
        return { name, family, version, dir: path.posix.join('.loupe', 'train', name), params, fromModelId: start?.modelId ?? null };
      },
    );
    if (orphanChildPid !== null) await waitForExit(orphanChildPid);
    return new TrainingJob(options, python, run, resumed, start, params);
  }

  /** The run's folder, absolute. */
  get runDir(): string {
    return path.join(this.options.store.folder, this.run.dir);
  }

  get progress(): TrainProgress {
    return this.progressState;
  }

  on(listener: (event: TrainEvent) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /**
   * Stops the run: training writes its checkpoint after the iteration under way (asked twice, it stops at once,
   * keeping the previous checkpoint); another stage stops where it is. The same settings continue it later.
   */
  cancel(): void {
    if (this.stopping) {
      this.child?.stop();
      return;
    }
    this.stopping = true;
    this.child?.stop();
    this.setProgress({ state: 'stopping' });
  }

  /** Runs the stages left and resolves with the summary; never throws (a failure is the summary's error). */
  async execute(): Promise<TrainSummary> {
    if (this.ran) throw new Error('a training job runs once');
    this.ran = true;
    const records = learningRecords(this.options.store);
    const heartbeat = setInterval(() => records.updateTrainRun(this.run.id, {}), HEARTBEAT_MS);
    heartbeat.unref();
    const partial: Partial<Mutable<TrainSummary>> = {};
    try {
      if (this.resumed) this.note(`continuing ${this.run.name} (run ${this.run.id}) from its ${this.run.stage} stage`);
      const data = await this.stage('data', () => this.data());
      partial.data = dataSummary(data);
      partial.training = await this.stage('train', () => this.train(data));
      const files = await this.stage('export', () => this.export(data));
      const outcome = await this.stage('score', () => this.score(data, files));
      Object.assign(partial, outcome);
      const summary = this.summary('completed', null, partial);
      records.updateTrainRun(this.run.id, { status: 'completed', stage: 'done', progress: null, result: summary as unknown as Record<string, unknown> });
      return summary;
    } catch (error) {
      const stopped = error instanceof Stopped || this.stopping;
      const message = stopped ? null : error instanceof FileError ? `${error.file}: ${error.reason}` : (error as Error).message;
      records.updateTrainRun(this.run.id, { status: stopped ? 'interrupted' : 'failed', error: message ?? 'stopped; the same command continues it' });
      return this.summary(stopped ? 'interrupted' : 'failed', message, partial);
    } finally {
      clearInterval(heartbeat);
    }
  }

  // ---- stages ----

  private async stage<T>(stage: TrainStage, work: () => Promise<T>): Promise<T> {
    if (this.stopping) throw new Stopped();
    learningRecords(this.options.store).updateTrainRun(this.run.id, { stage });
    this.setProgress({ stage });
    return work();
  }

  private async data(): Promise<TrainingData> {
    const existing = await readTrainingData(this.runDir);
    if (existing) return existing;
    const data = await writeTrainingData(this.options.store, this.runDir);
    this.note(
      `training data: ${data.train.images.length} reviewed images (${data.train.instances} instances) to learn from, ` +
        `${data.heldout.images.length} (${data.heldout.instances} instances) held out to score on`,
    );
    if (data.leftOut.length > 0) this.note(`left out (no reviewed instances to learn from): ${data.leftOut.join(', ')}`);
    if (data.leftOutImages.length > 0) {
      this.note(`reviewed images left out: ${data.leftOutImages.map((l) => `${l.path} (${l.reason})`).join('; ')}`);
    }
    return data;
  }

  private async train(data: TrainingData): Promise<NonNullable<TrainSummary['training']>> {
    const p = this.params;
    const args = [
      'train', path.join(this.runDir, 'split', 'train'), '--out', path.join(this.runDir, 'checkpoint'),
      ...(this.start ? ['--init-from', this.start.checkpoint] : ['--arch', p.arch!, ...(p.pretrained ? ['--pretrained', p.pretrained] : [])]),
      '--iterations', String(p.iterations), ...(p.minutes !== null ? ['--max-minutes', String(p.minutes)] : []),
      '--device', p.device, '--batch-size', String(p.batchSize), '--lr', String(p.lr), '--warmup', String(p.warmup),
      '--checkpoint-every', String(p.checkpointEvery), '--seed', '0', '--progress', 'jsonl',
      ...(p.minSize !== null ? ['--min-size', String(p.minSize)] : []), ...(p.maxSize !== null ? ['--max-size', String(p.maxSize)] : []),
    ];
    const from = this.start ? `from ${this.start.card.name}` : `a new ${p.arch}${p.pretrained ? ' from COCO weights' : ''}`;
    this.note(`training ${this.run.name}, ${from}: ${p.minutes !== null && p.iterations >= ITERATIONS_FOR_TIME_BUDGET ? `${p.minutes} minutes` : `${p.iterations} iterations${p.minutes !== null ? ` or ${p.minutes} minutes` : ''}`} on ${p.device} (${data.train.images.length} images)`);
    let start: Record<string, unknown> = {};
    let done: Record<string, unknown> = {};
    let failure: string | null = null;
    const outcome = await this.tool(args, (event) => {
      if (event.event === 'start') {
        start = event;
        const init = event.init as { new_classes?: string[]; missing_classes?: string[] } | null;
        if (event.resumed) this.note(`resuming training at iteration ${String(event.iteration)} of ${String(event.iterations)}`);
        if (init?.new_classes?.length) this.note(`new classes (start fresh): ${init.new_classes.join(', ')}`);
        if (init?.missing_classes?.length) this.note(`classes of ${this.start?.card.name ?? 'the starting model'} not in this data: ${init.missing_classes.join(', ')}`);
        this.setProgress({ iteration: Number(event.iteration), iterations: Number(event.iterations) });
      } else if (event.event === 'iteration') {
        this.setProgress({
          // The smoothed losses' sum: one step's loss jumps with the images it drew.
          iteration: Number(event.iteration), iterations: Number(event.iterations), loss: smoothedLoss(event) ?? numberOrNull(event.loss),
          imagesPerSecond: numberOrNull(event.images_per_second), etaSeconds: numberOrNull(event.eta_seconds),
          elapsedSeconds: numberOrNull(event.elapsed_seconds),
        });
      } else if (event.event === 'done') {
        done = event;
      } else if (event.event === 'error') {
        failure = String(event.message);
      }
    });
    if (outcome.code === 130 || this.stopping) throw new Stopped();
    if (outcome.code !== 0) throw new Error(`training failed: ${failure ?? describeExit(outcome)}`);
    const init = start.init as { new_classes?: string[]; missing_classes?: string[] } | null;
    return {
      iteration: Number(done.iteration ?? 0), iterations: Number(done.iterations ?? p.iterations), seconds: Number(done.seconds ?? 0),
      reason: String(done.reason ?? 'completed'), device: String(start.device ?? p.device),
      newClasses: init?.new_classes ?? [], missingClasses: init?.missing_classes ?? [],
    };
  }

  /** Evaluates and exports the checkpoint, then moves the files into the project's model folder. */
  private async export(data: TrainingData): Promise<string[]> {
    const p = this.params;
    const checkpoint = path.join(this.runDir, 'checkpoint', 'last.pt');
    const heldout = path.join(this.runDir, 'split', 'heldout');
    const metrics = path.join(this.runDir, 'metrics.json');
    const out = path.join(this.runDir, 'export');
    const sizes = [...(p.minSize !== null ? ['--min-size', String(p.minSize)] : []), ...(p.maxSize !== null ? ['--max-size', String(p.maxSize)] : [])];
    this.note(`exporting ${this.run.name}: scored by tools/model on the ${data.heldout.images.length} held-out images, three ONNX layouts checked in onnxruntime-node`);
    if (!existsSync(metrics)) {
      const evaluated = await this.tool(['evaluate', checkpoint, heldout, '--out', metrics, '--min-threshold', String(p.graphScoreThreshold), '--device', p.device, ...sizes]);
      if (this.stopping) throw new Stopped();
      if (evaluated.code !== 0) throw new Error(`tools/model evaluate failed: ${describeExit(evaluated)}`);
    }
    const target = projectModelsDir(this.options.store);
    const names = exportedFiles(this.run.name);
    if (!names.every((name) => existsSync(path.join(target, name)))) {
      if (!names.every((name) => existsSync(path.join(out, name)))) {
        await rm(out, { recursive: true, force: true });
        const exported = await this.tool([
          'export', checkpoint, '--out-dir', out, '--name', this.run.name, '--verify-data', heldout, '--metrics', metrics,
          '--graph-score-threshold', String(p.graphScoreThreshold), '--device', p.device, '--json', ...sizes,
        ]);
        if (this.stopping) throw new Stopped();
        if (exported.code !== 0) throw new Error(`tools/model export failed: ${describeExit(exported)}`);
      }
      await mkdir(target, { recursive: true });
      // Weights first, cards last: a card in the folder always has its files beside it.
      for (const name of [...names].sort((a, b) => Number(a.endsWith('.json')) - Number(b.endsWith('.json')))) {
        await moveNew(path.join(out, name), path.join(target, name));
      }
    }
    return names.map((name) => path.join(target, name));
  }

  private async score(data: TrainingData, files: readonly string[]): Promise<Pick<TrainSummary, 'model' | 'scores' | 'activated' | 'decision'>> {
    const { store } = this.options;
    const records = learningRecords(store);
    const cardPath = files.find((f) => f.endsWith(`${this.run.name}.json`))!;
    const images = data.heldout.images.map((p) => store.images.getByPath(p)).filter((i): i is ImageRecord => i !== undefined && !i.missing);
    const previous = activeModelCard(store).cardPath;
    const models = [cardPath, ...(path.resolve(previous) === path.resolve(cardPath) ? [] : [previous])];
    this.note(`scoring ${models.map((m) => path.basename(m, '.json')).join(' and ')} on the ${images.length} held-out images (COCOeval)`);
    const truth = truthOf(store, images);
    const scored: ModelScore[] = [];
    for (const [i, card] of models.entries()) {
      const predictions = await predict(store, card, images, {
        ...(this.options.provider ? { provider: this.options.provider } : {}),
        ...(this.options.workers !== undefined ? { workers: this.options.workers } : {}),
        ...(this.options.workerPort ? { workerPort: this.options.workerPort } : {}),
        stopped: () => this.stopping,
        onImage: (done, total) => this.setProgress({ scored: { done: i * total + done, total: total * models.length } }),
      });
      if (this.stopping) throw new Stopped();
      if (predictions.failures.length > 0) {
        throw new Error(`${path.basename(card)} could not run on ${predictions.failures.map((f) => `${f.path} (${f.message})`).join(', ')}`);
      }
      const scores = score(predictions.model, images, truth, predictions.byImage, store.categories.list());
      scored.push(await evaluationRecord(store, predictions.model, card, 'heldout', scores));
    }
    const [mine, theirs] = scored as [ModelScore, ModelScore | undefined];
    const version = versionOf(this.run.name);
    store.transaction(() => {
      records.addVersion({
        modelId: mine.modelId, family: version.family, version: version.version, parentModelId: this.start?.modelId ?? null,
        trainRunId: this.run.id, cardPath: storedPath(store, cardPath),
      });
      records.updateTrainRun(this.run.id, { modelId: mine.modelId });
    });
    const line = (s: ModelScore): ScoreLine => ({ name: s.name, modelId: s.modelId, maskAP: s.scores.mask?.AP ?? null, boxAP: s.scores.box.AP });
    const decision = decide(line(mine), theirs ? line(theirs) : null, images.length, this.options.activate ?? false);
    if (decision.activate) records.activate(mine.modelId, storedPath(store, cardPath), decision.reason);
    return {
      model: { id: mine.modelId, name: this.run.name, cardPath, files: [...files] },
      scores: { heldoutImages: images.length, model: line(mine), previous: theirs ? line(theirs) : null },
      activated: decision.activate,
      decision: decision.reason,
    };
  }

  // ---- helpers ----

  /** Runs a tools/model command as this run's child, stopping it with the run; JSON lines go to `onEvent`. */
  private async tool(args: readonly string[], onEvent?: (event: Record<string, unknown>) => void) {
    const child = runModelTool(this.python.python, args, {
      onLine: (line) => {
        if (!onEvent || !line.startsWith('{')) return;
        try {
          onEvent(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // A line that only looks like JSON: not an event.
        }
      },
    });
    this.child = child;
    learningRecords(this.options.store).updateTrainRun(this.run.id, { childPid: child.child.pid ?? null });
    if (this.stopping) child.stop();
    try {
      return await child.done;
    } finally {
      this.child = null;
      learningRecords(this.options.store).updateTrainRun(this.run.id, { childPid: null });
    }
  }

  private setProgress(change: Partial<TrainProgress>): void {
    this.progressState = { ...this.progressState, ...change };
    this.emit({ type: 'progress', progress: this.progressState });
  }

  private note(message: string): void {
    this.emit({ type: 'note', message });
  }

  private emit(event: TrainEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private summary(state: TrainSummary['state'], error: string | null, partial: Partial<TrainSummary>): TrainSummary {
    return {
      state, runId: this.run.id, name: this.run.name, runDir: this.runDir, resumed: this.resumed, error,
      from: this.start ? { name: this.start.card.name, cardPath: this.start.cardPath } : null,
      data: partial.data ?? null, training: partial.training ?? null, model: partial.model ?? null, scores: partial.scores ?? null,
      activated: partial.activated ?? false,
      decision: partial.decision ?? (state === 'interrupted' ? 'stopped before scoring; run the same command to continue' : 'nothing was activated'),
    };
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The settings that make a run: the same ones again continue it. */
type TrainParams = {
  readonly from: string | null;
  readonly fromSha256: string | null;
  readonly name: string;
  readonly arch: Architecture | null;
  readonly pretrained: 'coco' | null;
  readonly iterations: number;
  readonly minutes: number | null;
  readonly device: 'cpu' | 'cuda';
  readonly batchSize: number;
  readonly lr: number;
  readonly warmup: number;
  readonly checkpointEvery: number;
  readonly minSize: number | null;
  readonly maxSize: number | null;
  readonly graphScoreThreshold: number;
};

function trainParams(options: TrainSettings, start: StartModel | null, family: string): TrainParams {
  const budgetOnly = options.iterations === undefined && options.minutes !== undefined;
  const neither = options.iterations === undefined && options.minutes === undefined;
  const iterations = options.iterations ?? (budgetOnly ? ITERATIONS_FOR_TIME_BUDGET : DEFAULT_ITERATIONS);
  const device = options.device ?? 'cpu';
  const warmupBase = budgetOnly ? 100 : Math.round(iterations / 10);
  return {
    from: start ? path.resolve(start.cardPath) : null,
    fromSha256: start?.card.sha256 ?? null,
    name: family,
    arch: options.arch ?? null,
    pretrained: options.pretrained ?? null,
    iterations,
    minutes: options.minutes ?? (neither ? DEFAULT_MINUTES : null),
    device,
    batchSize: options.batchSize ?? (device === 'cuda' ? 4 : 2),
    // Fine-tuning moves trained weights gently; a network from COCO's weights gentler still; a new one from scratch faster.
    lr: start ? 6e-4 : options.pretrained ? 2e-4 : 1.5e-3,
    warmup: Math.max(1, Math.min(100, warmupBase)),
    checkpointEvery: Math.max(5, Math.min(100, budgetOnly ? 100 : Math.round(iterations / 10))),
    minSize: options.minSize ?? null,
    maxSize: options.maxSize ?? null,
    graphScoreThreshold: start?.card.graph_score_threshold ?? 0.05,
  };
}

/** The family a new version belongs to: --name, else the starting model's (its layout suffix dropped), else the folder's. */
function familyName(store: ProjectStore, options: TrainSettings, start: StartModel | null): string {
  const given = options.name ?? (start ? start.card.name.replace(/-(boxes|zoo)$/, '') : path.basename(store.folder));
  const family = versionOf(given).family;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(family)) {
    throw new FileError(store.folder, `'${given}' cannot name model files: use letters, digits, '.', '_' and '-' (at most 100)`);
  }
  return family;
}

/** The starting model's card and checkpoint (named in the card, with its sha256 checked), registered in the project. */
async function startModel(store: ProjectStore, cardPath: string): Promise<StartModel> {
  let loaded;
  try {
    loaded = await readModelCard(cardPath);
  } catch (error) {
    throw new FileError(cardPath, (error as Error).message.replace(`${path.resolve(cardPath)}: `, ''));
  }
  const { card, onnxPath } = loaded;
  const named = (card as Record<string, unknown>).checkpoint as { file?: unknown; sha256?: unknown } | undefined;
  if (typeof named?.file !== 'string') {
    throw new FileError(loaded.cardPath, 'names no training checkpoint (checkpoint.file), so it cannot be fine-tuned; start from a model tools/model exported, or a new network with --arch');
  }
  const checkpoint = path.resolve(path.dirname(loaded.cardPath), named.file);
  if (!existsSync(checkpoint)) throw new FileError(checkpoint, `the training checkpoint ${path.basename(loaded.cardPath)} names is missing`);
  if (typeof named.sha256 === 'string') {
    const actual = await hashFile(checkpoint);
    if (actual !== named.sha256) {
      throw new FileError(checkpoint, `its sha256 is ${actual}, not ${named.sha256} as ${path.basename(loaded.cardPath)} says: these are not that model's weights`);
    }
  }
  const sha256 = card.sha256 ?? (await hashFile(onnxPath));
  const model = store.models.register({ name: card.name, format: card.format, labels: card.labels, card, path: onnxPath, sha256 });
  return { cardPath: loaded.cardPath, card, checkpoint, modelId: model.id };
}

function decide(mine: ScoreLine, theirs: ScoreLine | null, images: number, forced: boolean): { activate: boolean; reason: string } {
  const ap = (s: ScoreLine) => s.maskAP ?? s.boxAP;
  const kind = (s: ScoreLine) => (s.maskAP !== null ? 'mask AP' : 'box AP');
  const figure = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));
  const on = `on the same ${images} held-out images`;
  if (forced) {
    const versus = theirs ? ` (held-out ${kind(mine)} ${figure(ap(mine))}, ${theirs.name} ${figure(ap(theirs))} ${on})` : '';
    return { activate: true, reason: `${mine.name} is now the active model: asked for with --activate${versus}` };
  }
  if (!theirs) return { activate: true, reason: `${mine.name} is now the active model: it replaces itself as the one trained from` };
  const a = ap(mine);
  const b = ap(theirs);
  if (a === null || b === null) {
    return { activate: false, reason: `${theirs.name} stays the active model: the held-out images hold no instances to compare on (activate ${mine.name} by hand, or train with --activate)` };
  }
  if (a > b) {
    return { activate: true, reason: `${mine.name} is now the active model: its held-out ${kind(mine)} ${figure(a)} beats ${theirs.name}'s ${figure(b)} ${on}` };
  }
  return {
    activate: false,
    reason: `${theirs.name} stays the active model: ${mine.name}'s held-out ${kind(mine)} ${figure(a)} does not beat its ${figure(b)} ${on} (set it active in the app, or train with --activate)`,
  };
}

function dataSummary(data: TrainingData): NonNullable<TrainSummary['data']> {
  return {
    trainImages: data.train.images.length, heldoutImages: data.heldout.images.length, trainInstances: data.train.instances,
    heldoutInstances: data.heldout.instances, classes: data.classes, leftOut: data.leftOut, leftOutImages: data.leftOutImages,
  };
}

function smoothedLoss(event: Record<string, unknown>): number | null {
  const losses = event.losses;
  if (typeof losses !== 'object' || losses === null) return null;
  const values = Object.values(losses).filter((v): v is number => typeof v === 'number');
  return values.length > 0 ? values.reduce((a, b) => a + b, 0) : null;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function describeExit(outcome: { code: number | null; signal: NodeJS.Signals | null; stderrTail: string }): string {
  const errorLine = outcome.stderrTail.split('\n').reverse().find((line) => line.startsWith('error: '));
  if (errorLine) return errorLine.slice('error: '.length);
  const last = outcome.stderrTail.trim().split('\n').at(-1) ?? '';
  return `${outcome.signal ? `ended by ${outcome.signal}` : `exit status ${outcome.code}`}${last ? `: ${last}` : ''}`;
}
