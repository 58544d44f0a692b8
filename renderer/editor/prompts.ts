// Box prompts in the editor: a box drawn (the box-prompt tool) or a prediction moved or resized (the select tool)
// goes to the model's own heads (prompt.segment), and the answer comes back as one edit: a new instance of origin
// 'prompted' with the mask and the most probable class, or the moved prediction with the mask the heads see in its
// new box instead of a stretched one. The image on screen and the next one in the list get their feature maps
// computed as they open (prompt.prepare), so a first box does not wait for the backbone. Whether the chosen model
// can do this at all (it needs split graphs) comes from prompt.status, with the reason when it cannot.
import type { Disposable, PromptResult, RendererApi, Res } from '../../app/ipc/contract.js';
import type { Annotation, AnnotationId, Bbox, Category, ImageRecord, ModelId } from '../../app/model/index.js';
import { edited, type AnnotationDocument } from './document.js';
import type { PromptMove, PromptPort } from './tools/tool.js';

export type ClassChoice = PromptResult['classes'][number];

/** What the session lends the prompts: its api, the open image, and a few of its actions. */
export interface PromptHost {
  readonly api: RendererApi;
  /** The open image's annotations; null while none is open. */
  document(): AnnotationDocument | null;
  /** The model chosen for the project (its id in models.installed); null for the project's active model. */
  modelId(): ModelId | null;
  categories(): readonly Category[];
  reloadCategories(): Promise<void>;
  /** The image after this one in the list, to compute its maps ahead. */
  nextImage(image: ImageRecord): Promise<ImageRecord | null>;
  newId(): AnnotationId;
  select(ids: readonly AnnotationId[]): void;
  say(message: string): void;
  /** The prompts' state changed: what is pending (drawn on the canvas), or whether they are available at all. */
  changed(what: 'pending' | 'availability'): void;
}

/** A request on its way: the boxes drawn for it, where, and since when (performance.now()). */
interface Pending {
  readonly imageId: number;
  readonly boxes: readonly Bbox[];
  readonly startedAt: number;
}

/** How the last answer went, for the status bar's tooltip and the benchmark: milliseconds. */
export interface PromptTiming {
  /** Box released to the edit applied (the canvas draws it on its next frame). */
  readonly totalMs: number;
  /** Feature maps computed for this request (0 when they were cached). */
  readonly featureMs: number;
  readonly headsMs: number;
  readonly appliedAt: number;
}

const CHECKING = 'Checking whether the model can segment a box…';
/** Below this probability for its best class, the person is told the class is a guess. */
const UNSURE = 0.3;

export class Prompts implements PromptPort, Disposable {
  private reason: string | null = CHECKING;
  private readonly inFlight = new Set<Pending>();
  private readonly choices = new Map<AnnotationId, readonly ClassChoice[]>();
  private checked = 0;
  private disposed = false;
  /** The last answer applied. */
  last: PromptTiming | null = null;

  constructor(private readonly host: PromptHost) {}

  /** Why box prompts cannot run with the chosen model; null when they can. */
  get unavailable(): string | null {
    return this.reason;
  }

  /** The boxes waiting for the model's answer on the open image (the canvas draws them). */
  get pending(): readonly Bbox[] {
    const imageId = this.host.document()?.image.id;
    return [...this.inFlight].filter((p) => p.imageId === imageId).flatMap((p) => p.boxes);
  }

  /** The classes the heads offered for a prompted instance (most probable first); empty when none are known. */
  classChoices(id: AnnotationId): readonly ClassChoice[] {
    return this.choices.get(id) ?? [];
  }

  /** Asks whether the chosen model has split graphs; then has the open image's maps computed. */
  async refresh(): Promise<void> {
    const ticket = ++this.checked;
    const modelId = this.host.modelId();
    let reason: string | null;
    try {
      const status = await this.host.api.invoke('prompt.status', modelId === null ? {} : { modelId });
      reason = status.available ? null : status.reason ?? 'the model cannot segment a box';
    } catch (error) {
      reason = `Box prompts are unavailable: ${messageOf(error)}`;
    }
    if (ticket !== this.checked || this.disposed) return;
    this.reason = reason;
    this.host.changed('availability');
    const image = this.host.document()?.image;
    if (image) this.imageOpened(image);
  }

  /** An image opened: its feature maps, then the next image's, are computed in the prompt worker. */
  imageOpened(image: ImageRecord): void {
    if (this.reason !== null) return;
    void this.prepare(image)
      .then(() => this.host.nextImage(image))
      .then((next) => next && this.prepare(next))
      .catch(() => {
        // A file the worker cannot read fails again, with its reason, when a box is drawn on it.
      });
  }

  add(box: Bbox): void {
    const document = this.host.document();
    if (!document) return;
    if (this.reason !== null) return this.host.say(this.reason);
    const imageId = document.image.id;
    this.ask(imageId, [box], async (answer, current) => {
      const result = answer.results[0]!;
      if (!result.mask || !result.bbox) return this.host.say('The model found nothing in that box; draw it around the object.');
      await this.knowCategories([result]);
      const id = this.host.newId();
      current.commit({
        added: [{
          id, imageId, categoryId: result.categoryId, bbox: result.bbox, mask: result.mask, score: result.score, origin: 'prompted',
          modelId: answer.modelId,
          // For the person to accept, change or undo; a reviewed image holds nothing pending, so there it is accepted.
          state: current.image.status === 'reviewed' ? 'accepted' : 'pending',
        }],
        updated: [],
        removed: [],
      });
      this.choices.set(id, result.classes);
      this.host.select([id]);
      if (result.score < UNSURE) {
        this.host.say(`The model is unsure what this is (${result.label} ${result.score.toFixed(2)}): pick its class in the panel, or undo.`);
      }
    });
  }

  resegment(moves: readonly PromptMove[]): boolean {
    const document = this.host.document();
    if (!document || this.reason !== null || moves.length === 0) return false;
    const targets = moves.map((move) => ({ move, before: document.get(move.id) }));
    const usable = targets.every(({ move, before }) => before && isPrediction(before) && move.box[2] >= 1 && move.box[3] >= 1);
    if (!usable) return false;
    const imageId = document.image.id;
    this.ask(imageId, moves.map((m) => m.box), (answer, current) => {
      const updated: { before: Annotation; after: Annotation }[] = [];
      let changed = 0;
      targets.forEach(({ before }, i) => {
        const now = current.get(before!.id);
        const result = answer.results[i]!;
        // Changed or removed meanwhile (an undo, another edit): the answer is for what it was, so it is dropped.
        if (!now || now !== before) return void changed++;
        if (!result.mask || !result.bbox) return;
        updated.push({ before: now, after: edited(now, { bbox: result.bbox, mask: result.mask }) });
        if (now.origin === 'prompted') this.choices.set(now.id, result.classes);
      });
      if (changed > 0) this.host.say('The instance changed while the model looked at it; its new box was not applied.');
      else if (updated.length < targets.length) this.host.say('The model found nothing in the new box; the instance was left as it was.');
      current.commit({ added: [], updated, removed: [] });
    });
    return true;
  }

  dispose(): void {
    this.disposed = true;
    this.inFlight.clear();
  }

  private async prepare(image: ImageRecord): Promise<void> {
    const modelId = this.host.modelId();
    await this.host.api.invoke('prompt.prepare', { imageId: image.id, ...(modelId === null ? {} : { modelId }) });
  }

  /** Sends boxes of an image to the heads and hands the answer to `apply` if that image is still the one open. */
  private ask(imageId: number, boxes: readonly Bbox[], apply: (answer: Answer, document: AnnotationDocument) => void | Promise<void>): void {
    const pending: Pending = { imageId, boxes, startedAt: performance.now() };
    this.inFlight.add(pending);
    this.host.changed('pending');
    const modelId = this.host.modelId();
    void this.host.api
      .invoke('prompt.segment', { imageId, boxes: boxes.map(positive), ...(modelId === null ? {} : { modelId }) })
      .then(async (answer) => {
        const current = this.host.document();
        if (this.disposed || !this.inFlight.has(pending) || current?.image.id !== imageId) return;
        await apply(answer, current);
        const appliedAt = performance.now();
        this.last = { totalMs: appliedAt - pending.startedAt, featureMs: answer.featureMs, headsMs: answer.headsMs, appliedAt };
      })
      .catch((error: unknown) => this.host.say(messageOf(error)))
      .finally(() => {
        this.inFlight.delete(pending);
        this.host.changed('pending');
      });
  }

  /** Classes main created for the model's labels are loaded before an instance of them is shown. */
  private async knowCategories(results: readonly PromptResult[]): Promise<void> {
    const known = new Set(this.host.categories().map((c) => c.id));
    if (results.some((r) => !known.has(r.categoryId))) await this.host.reloadCategories();
  }
}

type Answer = Res<'prompt.segment'>;

/** What the model made and a box can re-segment: a prediction (edited or not) or a prompted instance, with a mask. */
function isPrediction(a: Annotation): boolean {
  return a.origin !== 'human' && a.mask !== null;
}

/** The contract takes boxes at least a pixel across. */
const positive = ([x, y, w, h]: Bbox): [number, number, number, number] => [x, y, Math.max(1, w), Math.max(1, h)];

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
