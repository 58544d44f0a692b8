// The Import dialog: which format to bring in (a COCO file, a folder of LabelMe files, a YOLO dataset's data.yaml),
// a button that asks main to open its own file dialog and import what is chosen, and then the report: what was
// added, what was skipped, or every problem that kept the input out.
import { IMPORT_FORMATS, type ImportFormat } from '../../app/ipc/exchange-options.js';
import { describeImport, type ImportDialogState } from '../editor/transfers.js';
import { h } from './dom.js';
import { Modal, select, SessionDialog } from './modal.js';

const SOURCES: Readonly<Record<ImportFormat, string>> = {
  coco: 'COCO: a JSON file (polygons or RLE)',
  labelme: 'LabelMe: the folder of its JSON files',
  yolo: 'YOLO (Ultralytics): the dataset\'s data.yaml',
};

export class ImportDialog extends SessionDialog<ImportDialogState> {
  protected state(): ImportDialogState | null {
    return this.session.importDialog;
  }

  protected build(): Modal<ImportDialogState> {
    const session = this.session;
    const modal = new Modal<ImportDialogState>(this.host, 'import-dialog', 'Import annotations', () => session.closeImport());
    const format = select('From', 'import-format', IMPORT_FORMATS.map((f) => [f, SOURCES[f]]), (value) => session.chooseImportFormat(value as ImportFormat));
    const hint = h('p', { class: 'hint' },
      'Images are matched by their path in this folder; classes by name (new ones are created). Everything is checked first: on a problem nothing is imported. What is imported counts as accepted by a person.');
    const report = h('div', { class: 'report', 'data-testid': 'import-report', 'aria-live': 'polite' });
    const run = h('button', { class: 'primary', 'data-testid': 'import-run', onclick: () => void session.runImport() }, 'Choose and import…');
    const close = h('button', { 'data-testid': 'import-close', onclick: () => session.closeImport() }, 'Close');
    modal.body.append(format.label, hint, report);
    modal.buttons.append(close, run);
    modal.onUpdate((state) => {
      format.set(state.format);
      format.input.disabled = state.busy;
      run.disabled = state.busy;
      close.disabled = state.busy;
      run.textContent = state.busy ? 'Importing…' : 'Choose and import…';
      if (state.error !== null) {
        report.replaceChildren(h('p', { class: 'error' }, state.error));
      } else if (state.report !== null) {
        const { summary, details } = describeImport(state.report);
        const failed = state.report.problems.length > 0;
        report.replaceChildren(h('p', { class: failed ? 'error' : 'summary' }, summary), h('ul', { class: failed ? 'problems' : 'notes' }, ...details.map((line) => h('li', {}, line))));
      } else {
        report.replaceChildren();
      }
    });
    return modal;
  }
}
