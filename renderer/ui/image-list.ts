// The image list: keyset-paged from main, virtualised (only the visible rows exist in the DOM), so a
// 50,000-image folder scrolls like a short one. Thumbnails load lazily from the thumbnail cache.
import type { Api, Req } from '../../app/ipc/contract.js';

type ImageFilter = NonNullable<Req<'images.list'>['filter']>;
import type { ImageId, ImageRecord } from '../../app/model/index.js';
import { clear, h } from './dom.js';

const ROW_HEIGHT = 56;
const PAGE = 500;

export class ImageList {
  private items: ImageRecord[] = [];
  private next: string | null = null;
  private complete = false;
  private loading: Promise<void> | null = null;
  private filter: ImageFilter = {};
  private current: ImageId | null = null;
  private generation = 0;
  private readonly viewport: HTMLDivElement;
  private readonly spacer: HTMLDivElement;
  private readonly rows: HTMLDivElement;

  constructor(root: HTMLElement, private readonly api: Api, private readonly onOpen: (image: ImageRecord) => void) {
    this.rows = h('div', { class: 'rows' });
    this.spacer = h('div', { class: 'spacer' }, this.rows);
    this.viewport = h('div', { class: 'image-viewport', 'data-testid': 'image-list' }, this.spacer);
    root.append(this.viewport);
    this.viewport.addEventListener('scroll', () => this.draw());
    new ResizeObserver(() => this.draw()).observe(this.viewport);
  }

  get loaded(): readonly ImageRecord[] {
    return this.items;
  }

  async setFilter(filter: ImageFilter): Promise<void> {
    this.filter = filter;
    this.items = [];
    this.next = null;
    this.complete = false;
    this.loading = null;
    this.generation++;
    this.viewport.scrollTop = 0;
    await this.loadMore();
  }

  /** Loads the next page unless everything is loaded. */
  loadMore(): Promise<void> {
    if (this.complete) return Promise.resolve();
    this.loading ??= (async () => {
      const generation = this.generation;
      const page = await this.api.invoke('images.list', { after: this.next, limit: PAGE, filter: this.filter });
      if (generation !== this.generation) return;
      this.items.push(...page.items);
      this.next = page.next;
      this.complete = page.next === null;
      this.loading = null;
      this.draw();
    })();
    return this.loading;
  }

  /** Replaces a record (after a status change) where it is loaded. */
  update(image: ImageRecord): void {
    const i = this.items.findIndex((r) => r.id === image.id);
    if (i >= 0) this.items[i] = image;
    this.draw();
  }

  highlight(id: ImageId): void {
    this.current = id;
    const i = this.items.findIndex((r) => r.id === id);
    if (i >= 0) {
      const top = i * ROW_HEIGHT;
      if (top < this.viewport.scrollTop || top + ROW_HEIGHT > this.viewport.scrollTop + this.viewport.clientHeight) {
        this.viewport.scrollTop = top - this.viewport.clientHeight / 2;
      }
    }
    this.draw();
  }

  /** The image `step` rows away from `id` in the list (loading more pages as needed), or null at an end. */
  async neighbour(id: ImageId, step: 1 | -1): Promise<ImageRecord | null> {
    let i = this.items.findIndex((r) => r.id === id);
    if (i < 0) return this.items[0] ?? null;
    while (step === 1 && i + 1 >= this.items.length && !this.complete) {
      await this.loadMore();
      i = this.items.findIndex((r) => r.id === id);
    }
    return this.items[i + step] ?? null;
  }

  private draw(): void {
    this.spacer.style.height = `${this.items.length * ROW_HEIGHT}px`;
    const top = this.viewport.scrollTop;
    const height = this.viewport.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - 5);
    const last = Math.min(this.items.length, Math.ceil((top + height) / ROW_HEIGHT) + 5);
    if (last >= this.items.length - 20 && !this.complete) void this.loadMore();
    clear(this.rows);
    this.rows.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    for (let i = first; i < last; i++) {
      const image = this.items[i]!;
      const slash = image.path.lastIndexOf('/');
      const name = image.path.slice(slash + 1);
      const folder = slash >= 0 ? image.path.slice(0, slash + 1) : '';
      this.rows.append(h('div', {
        class: `image-row${image.id === this.current ? ' current' : ''}`,
        'data-image-id': image.id,
        title: image.error ?? image.path,
        onclick: () => this.onOpen(image),
      },
      h('img', { src: this.api.thumbnailUrl(image), loading: 'lazy', alt: '', width: 48, height: 48 }),
      h('span', { class: 'where' }, h('span', { class: 'name' }, name), folder ? h('span', { class: 'folder' }, folder) : null),
      h('span', { class: `status status-${image.status}` }, image.status)));
    }
  }
}
