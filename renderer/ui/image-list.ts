// The image list: the session's filtered images, virtualised (only the visible rows exist in the DOM), so a
// 50,000-image folder scrolls like a short one; scrolling near the end asks for the next page. Thumbnails
// load lazily from the thumbnail cache; a file that cannot be read shows a placeholder, an error badge and its
// reason under its name (a missing one, a 'missing' badge). Above it, the filters (file name, status, class, where the compared model disagrees
// with the review), the order (by name, or most uncertain first) and Rescan, which looks for images added to, changed in or removed from the folder.
import type { Disposable, RendererApi } from '../../app/ipc/contract.js';
import { IMAGE_STATUSES, type ImageId, type ImageRecord, type ImageStatus } from '../../app/model/index.js';
import type { ReviewSession, Topic } from '../editor/session.js';
import { clear, DisposableStore, everyFrame, h, listen } from './dom.js';

const ROW_HEIGHT = 56;

export class ImageList implements Disposable {
  readonly element: HTMLElement;
  private readonly viewport: HTMLDivElement;
  private readonly spacer: HTMLDivElement;
  private readonly rows: HTMLDivElement;
  private readonly status = h('select', { 'data-testid': 'filter-status', 'aria-label': 'Status' });
  private readonly category = h('select', { 'data-testid': 'filter-class', 'aria-label': 'Class' });
  private readonly search = h('input', { type: 'search', placeholder: 'Search file names', 'data-testid': 'filter-search' });
  private readonly sort = h('select', { 'data-testid': 'sort', 'aria-label': 'Order', title: 'Order of the list' },
    h('option', { value: 'path' }, 'By name'), h('option', { value: 'uncertain' }, 'Most uncertain first'));
  private readonly disagreements = h('input', { type: 'checkbox', 'data-testid': 'filter-disagreements' });
  private readonly disposables = new DisposableStore();
  private readonly redraw = everyFrame(() => this.draw());
  /** The image last scrolled into view, so the list follows the review without fighting the person's scrolling. */
  private followed: ImageId | null = null;
  private categoriesKey = '';
  /** The filter the rows were drawn for: a new one starts again at the top. */
  private drawnFilter: object | null = null;
  /** Images whose thumbnail failed to load: shown with the placeholder from then on, not asked for again. */
  private readonly noThumbnail = new Set<ImageId>();

  constructor(private readonly session: ReviewSession<unknown>, private readonly api: Pick<RendererApi, 'thumbnailUrl'>) {
    this.rows = h('div', { class: 'rows' });
    this.spacer = h('div', { class: 'spacer' }, this.rows);
    this.viewport = h('div', { class: 'image-viewport', 'data-testid': 'image-list' }, this.spacer);
    this.status.append(h('option', { value: '' }, 'All statuses'), ...IMAGE_STATUSES.map((s) => h('option', { value: s }, s)));
    const rescan = h('button', {
      'data-testid': 'rescan', title: 'Look for images added to, changed in or removed from the folder',
      onclick: () => void session.rescan(),
    }, 'Rescan');
    this.element = h('aside', { class: 'images' },
      h('div', { class: 'filters' }, this.search, h('div', { class: 'filter-row' }, this.status, rescan), this.category, this.sort,
        h('label', { class: 'toggle', title: 'Images where the model of "Compare with reviewed" missed, added or poorly outlined an instance' }, this.disagreements, 'Disagreements')),
      this.viewport);

    const d = this.disposables;
    const apply = () => void session.setImageFilter(this.filter()).catch((error: Error) => session.say(error.message));
    let typing = 0;
    d.add({ dispose: () => clearTimeout(typing) });
    d.add(listen(this.status, 'change', apply));
    d.add(listen(this.category, 'change', apply));
    d.add(listen(this.disagreements, 'change', apply));
    d.add(listen(this.sort, 'change', () => void session.setImageSort(this.sort.value === 'uncertain' ? 'uncertain' : 'path').catch((error: Error) => session.say(error.message))));
    d.add(listen(this.search, 'input', () => {
      clearTimeout(typing);
      typing = window.setTimeout(apply, 200);
    }));
    d.add(listen(this.viewport, 'scroll', () => this.redraw.request()));
    const resize = new ResizeObserver(() => this.redraw.request());
    resize.observe(this.viewport);
    d.add({ dispose: () => resize.disconnect() });
    d.add(this.redraw);
    d.add(session.subscribe((topics: ReadonlySet<Topic>) => {
      if (topics.has('list') || topics.has('image') || topics.has('project')) this.redraw.request();
    }));
    this.draw();
  }

  dispose(): void {
    this.disposables.dispose();
  }

  private filter() {
    const status = this.status.value as ImageStatus | '';
    const categoryId = Number(this.category.value);
    const search = this.search.value.trim();
    return {
      ...(status ? { status } : {}),
      ...(categoryId > 0 ? { categoryId } : {}),
      ...(search ? { search } : {}),
      ...(this.disagreements.checked ? { disagreements: true } : {}),
    };
  }

  private draw(): void {
    this.drawClassFilter();
    const { items, complete, filter } = this.session.images;
    if (filter !== this.drawnFilter) {
      this.drawnFilter = filter;
      this.viewport.scrollTop = 0;
    }
    const current = this.session.image?.id ?? null;
    if (current !== this.followed) this.follow(current);
    this.spacer.style.height = `${items.length * ROW_HEIGHT}px`;
    const top = this.viewport.scrollTop;
    const height = this.viewport.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - 5);
    const last = Math.min(items.length, Math.ceil((top + height) / ROW_HEIGHT) + 5);
    if (last >= items.length - 20 && !complete) void this.session.images.loadMore();
    clear(this.rows);
    this.rows.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    for (let i = first; i < last; i++) {
      const image = items[i]!;
      const slash = image.path.lastIndexOf('/');
      const name = image.path.slice(slash + 1);
      const folder = slash >= 0 ? image.path.slice(0, slash + 1) : '';
      const unreadable = image.status === 'error' || image.missing;
      const problem = image.missing ? 'missing from the folder' : image.error;
      this.rows.append(h('div', {
        class: `image-row${image.id === current ? ' current' : ''}${unreadable ? ' unreadable' : ''}`,
        'data-image-id': image.id,
        title: problem ? `${image.path}: ${problem}` : image.path,
        onclick: () => void this.session.open(image).catch((error: Error) => this.session.say(error.message)),
      },
      unreadable || this.noThumbnail.has(image.id) ? placeholder() : this.thumbnail(image),
      h('span', { class: 'where' },
        h('span', { class: 'name' }, name),
        problem ? h('span', { class: 'problem', 'data-testid': 'image-problem' }, problem) : folder ? h('span', { class: 'folder' }, folder) : null),
      image.missing
        ? h('span', { class: 'status status-error', 'data-testid': 'badge' }, '⚠ missing')
        : h('span', { class: `status status-${image.status}`, ...(image.status === 'error' ? { 'data-testid': 'badge' } : {}) }, image.status === 'error' ? '⚠ error' : image.status)));
    }
  }

  private thumbnail(image: ImageRecord): HTMLElement {
    const img = h('img', { src: this.api.thumbnailUrl(image), loading: 'lazy', alt: '', width: 48, height: 48 });
    img.addEventListener('error', () => {
      this.noThumbnail.add(image.id);
      img.replaceWith(placeholder());
    }, { once: true });
    return img;
  }

  /** Scrolls the open image's row into view when another image is opened. */
  private follow(id: ImageId | null): void {
    this.followed = id;
    const i = id === null ? -1 : this.session.images.indexOf(id);
    if (i < 0) return;
    const top = i * ROW_HEIGHT;
    if (top < this.viewport.scrollTop || top + ROW_HEIGHT > this.viewport.scrollTop + this.viewport.clientHeight) {
      this.viewport.scrollTop = top - this.viewport.clientHeight / 2;
    }
  }

  private drawClassFilter(): void {
    const categories = this.session.categories;
    const key = categories.map((c) => `${c.id}:${c.name}`).join();
    if (key === this.categoriesKey) return;
    this.categoriesKey = key;
    const chosen = this.category.value;
    this.category.replaceChildren(h('option', { value: '' }, 'All classes'),
      ...categories.map((c) => h('option', { value: c.id, selected: String(c.id) === chosen }, c.name)));
  }
}

/** What stands in for a thumbnail that cannot be made: the file is unreadable or missing. */
function placeholder(): HTMLElement {
  return h('span', { class: 'thumb-placeholder', 'data-testid': 'thumb-placeholder', 'aria-hidden': 'true' }, '⚠');
}
