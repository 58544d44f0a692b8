// The status bar: review progress, the pre-label run (how far, how fast, where) with its pause/resume and
// cancel buttons, the learning job (training: iteration, loss, images/s, time left) with its stop button, the
// session's message (it stays until the person's next action), how many instances are selected and the zoom (a
// click fits the image to the window).
import type { Disposable } from '../../app/ipc/contract.js';
import { learningStatusText } from '../editor/learning.js';
import { otherRunText, runStatusText } from '../editor/run-status.js';
import type { ReviewSession, Topic } from '../editor/session.js';
import { DisposableStore, everyFrame, h, setProperty, setText } from './dom.js';

/** Least time (ms) between two writes of the zoom while it keeps changing. */
const ZOOM_INTERVAL = 100;

export class StatusBar implements Disposable {
  readonly element: HTMLElement;
  private readonly progress = h('span', { class: 'progress', 'data-testid': 'progress' });
  private readonly controls = h('span', { class: 'run-controls' });
  private readonly learning = h('span', { class: 'learning', 'data-testid': 'learning-status' });
  private readonly learningStop = h('button', { 'data-testid': 'learning.cancel', hidden: true, onclick: () => void this.session.learning.cancel() }, 'Stop');
  private readonly message = h('span', { class: 'message', 'data-testid': 'message' });
  private readonly selected = h('span', { class: 'selected-count', 'data-testid': 'selected-count' });
  private readonly zoom = h('button', { class: 'zoom', 'data-testid': 'zoom', title: 'Zoom (click or 0: fit to the window; z: zoom to the selection)' });
  private readonly disposables = new DisposableStore();
  private readonly redraw = everyFrame(() => this.draw());
  /** When the zoom was last written, and the write waiting for ZOOM_INTERVAL to pass. */
  private zoomWritten = -Infinity;
  private zoomTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly session: ReviewSession<unknown>) {
    this.zoom.addEventListener('click', () => void session.perform('view.fit'));
    this.element = h('div', { class: 'statusbar', 'data-testid': 'statusbar' }, 
      this.progress, this.controls, h('span', { class: 'run-controls' }, this.learning, this.learningStop), this.message, this.selected, this.zoom);
    this.disposables.add(this.redraw);
    this.disposables.add({ dispose: () => clearTimeout(this.zoomTimer) });
    this.disposables.add(session.subscribe((topics: ReadonlySet<Topic>) => {
      if (topics.has('status') || topics.has('project') || topics.has('annotations') || topics.has('camera') || topics.has('selection') || topics.has('learning')) this.redraw.request();
    }));
    this.draw();
  }

  dispose(): void {
    this.disposables.dispose();
  }

  /** Runs on every camera change (each frame of a pan or zoom): only what changed touches the DOM, since any change to the page costs the browser a repaint of it. */
  private draw(): void {
    const { summary, run, otherRun, document, message } = this.session;
    const reviewed = summary?.byStatus.reviewed ?? 0;
    let text = `Reviewed ${reviewed} / ${summary?.total ?? 0}`;
    if (otherRun) text += ` · ${otherRunText(otherRun)}`;
    else if (run) text += ` · ${runStatusText(run)}`;
    if (document?.notice) text += ` · ${document.notice}`;
    setText(this.progress, text);
    setProperty(this.progress, 'title', otherRun ? (this.session.prelabelRefusal ?? '') : (run?.engine.fallback ?? ''));
    if (this.progress.dataset.reviewed !== String(reviewed)) this.progress.dataset.reviewed = String(reviewed);
    setText(this.message, message);
    const count = this.session.selection.length;
    setText(this.selected, count > 1 ? `${count} selected` : '');
    this.drawZoom();
    const job = this.session.learning.job;
    setText(this.learning, job ? learningStatusText(job) : '');
    setProperty(this.learningStop, 'hidden', job?.state !== 'running');
    this.drawControls();
  }

  /**
   * The zoom, at most once per ZOOM_INTERVAL while it keeps changing (a pinch or a held zoom changes it every
   * frame, and each write costs the page a repaint: ~1.7 ms of a 16.7 ms frame on the bench machine); a single
   * change shows at once, and the last one always shows.
   */
  private drawZoom(): void {
    const text = `${Math.round(this.session.camera.scale * 100)}%`;
    if (this.zoom.textContent === text || this.zoomTimer !== undefined) return;
    const wait = this.zoomWritten + ZOOM_INTERVAL - performance.now();
    if (wait > 0) {
      this.zoomTimer = setTimeout(() => {
        this.zoomTimer = undefined;
        this.drawZoom();
      }, wait);
      return;
    }
    this.zoom.textContent = text;
    this.zoomWritten = performance.now();
  }

  /** Pause/resume and cancel for a pre-label run in progress. */
  private drawControls(): void {
    const run = this.session.run;
    const active = run !== null && (run.state === 'running' || run.state === 'paused');
    const key = active ? `${run.runId}:${run.state}` : '';
    if (this.controls.dataset.key === key) return;
    this.controls.dataset.key = key;
    if (!active) return this.controls.replaceChildren();
    const control = (label: string, channel: 'prelabel.pause' | 'prelabel.resume' | 'prelabel.cancel') =>
      h('button', { 'data-testid': channel, onclick: () => void this.session.controlRun(channel) }, label);
    this.controls.replaceChildren(
      run.state === 'running' ? control('Pause', 'prelabel.pause') : control('Resume', 'prelabel.resume'),
      control('Cancel', 'prelabel.cancel'),
    );
  }
}
