// The project's images as the review sees them: filtered, in path order, fetched from main one keyset page at
// a time as they are needed (a 50,000-image folder loads only what is looked at). Headless; the image list
// view draws `items`.
import type { ImageFilter, ImageSort, RendererApi, Req } from '../../app/ipc/contract.js';
import type { ImageId, ImageRecord } from '../../app/model/index.js';

/** A filter as the UI sets it (ids as plain numbers are accepted). */
export type ImageFilterInput = NonNullable<Req<'images.list'>['filter']>;

const PAGE = 500;

export class ImageQueue {
  private list: ImageRecord[] = [];
  private next: string | null = null;
  private done = false;
  private loading: Promise<void> | null = null;
  private current: ImageFilter = {};
  private order: ImageSort = 'path';
  private generation = 0;

  constructor(private readonly api: RendererApi, private readonly changed: () => void) {}

  /** The images loaded so far, in list order. */
  get items(): readonly ImageRecord[] {
    return this.list;
  }

  /** Whether every image the filter matches is loaded. */
  get complete(): boolean {
    return this.done;
  }

  get filter(): ImageFilter {
    return this.current;
  }

  get sort(): ImageSort {
    return this.order;
  }

  /** Starts over in another order (keeping the filter) and loads its first page. */
  async setSort(sort: ImageSort): Promise<void> {
    this.order = sort;
    await this.setFilter({ ...this.current });
  }

  /** Starts over with another filter and loads its first page. */
  async setFilter(filter: ImageFilterInput): Promise<void> {
    this.current = filter as ImageFilter;
    this.list = [];
    this.next = null;
    this.done = false;
    this.loading = null;
    this.generation++;
    this.changed();
    await this.loadMore();
  }

  /** Loads the next page unless everything is loaded. */
  loadMore(): Promise<void> {
    if (this.done) return Promise.resolve();
    this.loading ??= (async () => {
      const generation = this.generation;
      const page = await this.api.invoke('images.list', { after: this.next, limit: PAGE, filter: this.current, ...(this.order !== 'path' ? { sort: this.order } : {}) });
      if (generation !== this.generation) return;
      this.list.push(...page.items);
      this.next = page.next;
      this.done = page.next === null;
      this.loading = null;
      this.changed();
    })();
    return this.loading;
  }

  /** Replaces a record (after a status change) where it is loaded. */
  update(image: ImageRecord): void {
    const i = this.list.findIndex((r) => r.id === image.id);
    if (i < 0) return;
    this.list[i] = image;
    this.changed();
  }

  indexOf(id: ImageId): number {
    return this.list.findIndex((r) => r.id === id);
  }

  /** The image `step` rows away from `id` (loading more pages as needed); the first when `id` is not listed; null at an end. */
  async neighbour(id: ImageId, step: 1 | -1): Promise<ImageRecord | null> {
    let i = this.indexOf(id);
    if (i < 0) return this.list[0] ?? null;
    while (step === 1 && i + 1 >= this.list.length && !this.done) {
      await this.loadMore();
      i = this.indexOf(id);
    }
    return this.list[i + step] ?? null;
  }
}
