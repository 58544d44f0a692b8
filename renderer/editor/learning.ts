// The learning loop in the review session: the model table (versions with their held-out figures), the learning
// job in progress (training a new version, evaluating, comparing), and "Compare with reviewed" on the open image:
// the comparison set's predictions with their outcome, the reviewed instances the model missed, and the extra under
// the pointer, which one key turns into an annotation. Headless; the session owns it and views read it.
import { decode, type BitMask } from '../../app/geometry/rle.js';
import type { LearningJob, ModelVersionRow, RendererApi, Req, Res } from '../../app/ipc/contract.js';
import { ModelId, type Annotation, type AnnotationId, type ImageId, type ImageRecord } from '../../app/model/index.js';
import type { ImagePoint } from '../../app/geometry/points.js';
import type { AnnotationDocument } from './document.js';

export type Comparison = NonNullable<Res<'learning.comparison'>['comparison']>;
export type ComparedPrediction = Comparison['predictions'][number];
export type TrainRequest = Req<'learning.train'>;

/** What the learning part needs from the session that owns it. */
export interface LearningHost {
  image(): ImageRecord | null;
  document(): AnnotationDocument | null;
  /** Something learning-related changed (the table, the job, the comparison). */
  changed(): void;
  say(message: string): void;
  /** A job ended: the list, the models and the open image may have changed. */
  jobEnded(job: LearningJob): Promise<void>;
  /** The score threshold the review shows predictions at. */
  setThreshold(threshold: number): void;
  newId(): AnnotationId;
}

export class Learning {
  private rows: readonly ModelVersionRow[] = [];
  private current: LearningJob | null = null;
  private shown: Comparison | null = null;
  private shownFor: ImageId | null = null;
  private hovered: number | null = null;
  private tableIsOpen = false;
  private loading = 0;
  /** Progress events seen since a job was asked for: they may overtake the reply. */
  private eventsSinceStart = 0;
  private readonly masks = new Map<number, BitMask>();

  constructor(private readonly api: RendererApi, private readonly host: LearningHost) {}

  /** Every model registered in the project, by family and version, with its latest held-out evaluation. */
  get models(): readonly ModelVersionRow[] {
    return this.rows;
  }

  /** The learning job running, or the last one (until another starts). */
  get job(): LearningJob | null {
    return this.current;
  }

  get running(): boolean {
    return this.current !== null && (this.current.state === 'running' || this.current.state === 'stopping');
  }

  get tableOpen(): boolean {
    return this.tableIsOpen;
  }

  /** The open image's comparison with the comparison set's model; null when it was not compared. */
  get comparison(): Comparison | null {
    return this.shownFor !== null && this.shownFor === this.host.image()?.id ? this.shown : null;
  }

  /** Predictions of the comparison that match nothing reviewed. */
  get extras(): readonly ComparedPrediction[] {
    return this.comparison?.predictions.filter((p) => p.outcome === 'extra') ?? [];
  }

  /** Reviewed instances the compared model did not find. */
  get missed(): readonly Annotation[] {
    const ids = new Set(this.comparison?.missed ?? []);
    return this.host.document()?.annotations.filter((a) => ids.has(a.id)) ?? [];
  }

  /** The extra under the pointer, which the take key turns into an annotation. */
  get hoveredExtra(): number | null {
    return this.hovered;
  }

  setTableOpen(open: boolean): void {
    if (this.tableIsOpen === open) return;
    this.tableIsOpen = open;
    this.host.changed();
    if (open) void this.refresh().catch((error: unknown) => this.host.say(messageOf(error)));
  }

  /** Reads the model table and the job again. */
  async refresh(): Promise<void> {
    const { models, job } = await this.api.invoke('learning.models', {});
    this.rows = models;
    if (job && (!this.current || job.state !== 'running' || this.current.state !== 'running')) this.current = job;
    this.host.changed();
  }

  /** A learning.progress event. */
  progress(job: LearningJob): void {
    this.eventsSinceStart++;
    const wasRunning = this.running;
    this.current = job;
    this.host.changed();
    if (wasRunning && !this.running) {
      this.host.say(job.message);
      void Promise.all([this.refresh(), this.host.jobEnded(job)]).catch((error: unknown) => this.host.say(messageOf(error)));
    }
  }

  async train(request: TrainRequest = {}): Promise<void> {
    await this.start(() => this.api.invoke('learning.train', request));
  }

  async evaluate(modelIds: readonly number[], split: 'heldout' | 'all' = 'heldout'): Promise<void> {
    if (modelIds.length === 0) return;
    await this.start(() => this.api.invoke('learning.evaluate', { modelIds: [...modelIds], split }));
  }

  async compare(modelId?: number): Promise<void> {
    await this.start(() => this.api.invoke('learning.compare', modelId === undefined ? {} : { modelId }));
  }

  private async start(begin: () => Promise<LearningJob>): Promise<void> {
    this.eventsSinceStart = 0;
    try {
      const job = await begin();
      if (this.eventsSinceStart === 0) this.current = job;
      this.host.changed();
    } catch (error) {
      this.host.say(messageOf(error));
    }
  }

  async cancel(): Promise<void> {
    try {
      await this.api.invoke('learning.cancel', {});
    } catch (error) {
      this.host.say(messageOf(error));
    }
  }

  async activate(modelId: number): Promise<void> {
    try {
      await this.api.invoke('learning.activate', { modelId });
      await this.refresh();
      const row = this.rows.find((r) => r.modelId === modelId);
      this.host.say(`${row?.name ?? `model ${modelId}`} is now the active model`);
    } catch (error) {
      this.host.say(messageOf(error));
    }
  }

  /** Shows predictions from the model's suggested (F1-maximising) threshold up. */
  applySuggested(modelId: number): void {
    const row = this.rows.find((r) => r.modelId === modelId);
    const suggested = row?.evaluation?.suggested.score;
    if (suggested === null || suggested === undefined) {
      this.host.say(`${row?.name ?? `model ${modelId}`} has no suggested threshold yet: evaluate it first`);
      return;
    }
    this.host.setThreshold(suggested);
    this.host.say(`Threshold ${suggested} (${row!.name}'s suggested: F1 ${row!.evaluation!.suggested.f1?.toFixed(3) ?? 'n/a'} on its held-out images)`);
  }

  /** Loads the comparison of the image just opened (or edited). */
  async load(image: ImageRecord): Promise<void> {
    const ticket = ++this.loading;
    const { comparison } = await this.api.invoke('learning.comparison', { imageId: image.id });
    if (ticket !== this.loading) return;
    this.shown = comparison;
    this.shownFor = image.id;
    this.hovered = null;
    this.masks.clear();
    this.host.changed();
  }

  /** The pointer moved over the image: the extra under it (the smallest, when several overlap) is the one to take. */
  hover(point: ImagePoint): void {
    const under = this.extras.filter((p) => this.contains(p, point)).sort((a, b) => a.bbox[2] * a.bbox[3] - b.bbox[2] * b.bbox[3])[0];
    const id = under?.id ?? null;
    if (id === this.hovered) return;
    this.hovered = id;
    this.host.changed();
  }

  /**
   * Turns an extra (the one under the pointer, else the highest-scoring one left) into an annotation: the model's
   * prediction, accepted by the person, as one undo step. False when there is none.
   */
  takeExtra(): boolean {
    const document = this.host.document();
    const comparison = this.comparison;
    const extras = this.extras;
    const chosen = extras.find((p) => p.id === this.hovered) ?? [...extras].sort((a, b) => b.score - a.score)[0];
    if (!document || !comparison || !chosen) {
      this.host.say(comparison ? 'No extra prediction left on this image' : 'This image has no comparison: run Compare with reviewed first');
      return false;
    }
    document.commit({
      added: [{
        id: this.host.newId(), imageId: document.image.id, categoryId: chosen.categoryId, bbox: chosen.bbox,
        mask: chosen.mask, score: chosen.score, origin: 'model', modelId: ModelId(comparison.modelId), state: 'accepted',
      }],
      updated: [],
      removed: [],
    });
    // Shown as matched at once; the store's comparison follows when the edit is saved.
    this.shown = {
      ...comparison,
      predictions: comparison.predictions.map((p) => (p.id === chosen.id ? { ...p, outcome: 'matched' as const, iou: 1 } : p)),
      counts: { ...comparison.counts, extra: comparison.counts.extra - 1, matched: comparison.counts.matched + 1 },
    };
    this.hovered = null;
    this.host.changed();
    return true;
  }

  private contains(p: ComparedPrediction, point: ImagePoint): boolean {
    const [x, y, w, h] = p.bbox;
    if (point.x < x || point.y < y || point.x >= x + w || point.y >= y + h) return false;
    if (!p.mask) return true;
    let mask = this.masks.get(p.id);
    if (!mask) this.masks.set(p.id, (mask = decode(p.mask)));
    return mask.data[Math.floor(point.y) * mask.width + Math.floor(point.x)] === 1;
  }
}


function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}


/** The learning job in a few words, for the status bar. */
export function learningStatusText(job: LearningJob): string {
  const verb = { train: 'training', evaluate: 'evaluating', compare: 'comparing' }[job.kind];
  if (job.state !== 'running' && job.state !== 'stopping') return `${job.kind} ${job.name}: ${job.state}`;
  const parts = [`${verb} ${job.name}${job.state === 'stopping' ? ' (stopping)' : ''}`];
  if (job.kind === 'train' && job.stage === 'train' && job.iteration !== null) {
    parts.push(job.iterations === null ? `iteration ${job.iteration}` : `iteration ${job.iteration}/${job.iterations}`);
    if (job.loss !== null) parts.push(`loss ${job.loss.toFixed(3)}`);
    if (job.imagesPerSecond !== null) parts.push(`${job.imagesPerSecond.toFixed(1)} images/s`);
    if (job.eta !== null) parts.push(`${formatSeconds(job.eta)} left`);
  } else if (job.done !== null && job.total !== null) {
    parts.push(`${job.stage === 'score' ? 'scoring ' : ''}${job.done}/${job.total} images`);
  } else if (job.stage !== null) {
    parts.push({ data: 'exporting the reviewed images', train: 'starting', export: 'exporting the model', score: 'scoring', done: 'done' }[job.stage]);
  }
  return parts.join(' · ');
}

function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
