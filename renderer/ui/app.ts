// The review screen as views over one review session: toolbar, image list, canvas, side panel, status bar and
// the shortcuts overlay each subscribe to the session and dispatch to it. Keys go to the session unless a text
// field has them. Nothing here holds review state.
import type { Disposable, RendererApi } from '../../app/ipc/contract.js';
import { CanvasView } from '../canvas/canvas-view.js';
import { ReviewSession } from '../editor/session.js';
import { ClassPrompt } from './class-prompt.js';
import { DisposableStore, h, listen } from './dom.js';
import { ExportDialog } from './export-dialog.js';
import { HelpOverlay } from './help-overlay.js';
import { ImageList } from './image-list.js';
import { ImportDialog } from './import-dialog.js';
import { ModelImportDialog } from './model-import-dialog.js';
import { ModelsPanel } from './models-panel.js';
import { PictureCache } from './picture-cache.js';
import { SidePanel } from './side-panel.js';
import { StatusBar } from './status-bar.js';
import { Toolbar } from './toolbar.js';

export class App implements Disposable {
  readonly session: ReviewSession<HTMLImageElement>;
  readonly canvas: CanvasView;
  private readonly disposables = new DisposableStore();

  constructor(root: HTMLElement, api: RendererApi) {
    const session = (this.session = new ReviewSession(api, { pictures: new PictureCache((image) => api.imageUrl(image)) }));
    const d = this.disposables;
    const toolbar = d.add(new Toolbar(session));
    const list = d.add(new ImageList(session, api));
    const panel = d.add(new SidePanel(session));
    const status = d.add(new StatusBar(session));
    const canvasHost = h('div', { class: 'canvas', 'data-testid': 'canvas' });
    root.append(toolbar.element, h('div', { class: 'main' }, list.element, canvasHost, panel.element), status.element);
    this.canvas = d.add(new CanvasView(canvasHost, session));
    d.add(new HelpOverlay(session, document.body));
    d.add(new ExportDialog(session, document.body));
    d.add(new ImportDialog(session, document.body));
    d.add(new ModelImportDialog(session, document.body));
    d.add(new ClassPrompt(session, document.body));
    d.add(new ModelsPanel(session, document.body));
    // A choice made in a dropdown gives the keys back to the editor (a focused select would keep them).
    d.add(listen(root, 'change', (e) => {
      if (e.target instanceof HTMLSelectElement) e.target.blur();
    }));
    // Files may have been added to the folder while the window was elsewhere.
    d.add(listen(window, 'focus', () => session.windowFocused()));
    d.add(listen(window, 'keydown', (e) => {
      if (!isTextEntry(e.target) && session.keyDown(e)) e.preventDefault();
    }));
    d.add(listen(window, 'keyup', (e) => {
      if (session.keyUp(e)) e.preventDefault();
    }));
    // A Space released while the window was elsewhere is never seen: leaving the window ends the pan mode.
    d.add(listen(window, 'blur', () => session.keyUp({ key: ' ' })));
    // Edits are saved as they are made; only one still on its way is worth a warning.
    d.add(listen(window, 'beforeunload', (e) => {
      if (session.unsaved > 0) e.preventDefault();
    }));
    d.add(session);
  }

  start(): Promise<void> {
    return this.session.start();
  }

  dispose(): void {
    this.disposables.dispose();
  }
}

/** Typing into a text field, a select or a text area keeps its keys; sliders and checkboxes do not. */
function isTextEntry(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target instanceof HTMLInputElement) return !['range', 'checkbox', 'radio', 'button', 'submit'].includes(target.type);
  return target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement || target.isContentEditable;
}
