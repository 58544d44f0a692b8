// The Import Model dialog (File > Import Model…): how the model is described (its Loupe card, a form, an
// X-AnyLabeling YAML), buttons that ask main's own file dialog for each file it needs (the page only ever holds
// handles), where it goes, and then what main installed or why it refused it.
import { MODEL_FORMATS, type ModelFormat } from '../../app/model/index.js';
import { describeModelImport, MODEL_FILES, type ModelFile, type ModelImportDialogState, type ModelImportKind } from '../editor/transfers.js';
import { h } from './dom.js';
import { Modal, select, textField, SessionDialog } from './modal.js';

const KINDS: readonly (readonly [ModelImportKind, string])[] = [
  ['card', 'An .onnx with its Loupe card (.json)'],
  ['form', 'An .onnx, described here'],
  ['xanylabeling', 'An X-AnyLabeling model (its YAML)'],
];

const FILE_BUTTONS: Readonly<Record<ModelFile, string>> = { onnx: 'Choose .onnx…', card: 'Choose card…', yaml: 'Choose YAML…' };

export class ModelImportDialog extends SessionDialog<ModelImportDialogState> {
  protected state(): ModelImportDialogState | null {
    return this.session.modelImportDialog;
  }

  protected build(): Modal<ModelImportDialogState> {
    const session = this.session;
    const modal = new Modal<ModelImportDialogState>(this.host, 'model-import-dialog', 'Import model', () => session.closeModelImport());
    const kind = select('Model', 'model-import-kind', KINDS, (value) => session.editModelImport({ kind: value as ModelImportKind }));
    const files = (['onnx', 'card', 'yaml'] as const).map((file) => {
      const chosen = h('span', { 'data-testid': `model-import-${file}` });
      const button = h('button', { 'data-testid': `model-import-choose-${file}`, onclick: () => void session.chooseModelFile(file) }, FILE_BUTTONS[file]);
      return { file, chosen, button, row: h('div', { class: 'field' }, button, chosen) };
    });
    const name = textField('Name', 'model-import-name', {}, (value) => session.editModelImport({ name: value }));
    const format = select('Format', 'model-import-format', MODEL_FORMATS.map((f) => [f, f]), (value) => session.editModelImport({ format: value as ModelFormat }));
    const labels = textField('Classes', 'model-import-labels', { multiline: true, placeholder: 'in the model\'s output order, one per line, without the background' },
      (value) => session.editModelImport({ labels: value }));
    const target = select('Into', 'model-import-target', [['user', 'Your models (every project)'], ['project', 'This project\'s models']],
      (value) => session.editModelImport({ target: value as 'user' | 'project' }));
    const hint = h('p', { class: 'hint' }, 'The model is loaded once to check its graph against the description before it is copied; nothing is overwritten.');
    const report = h('div', { class: 'report', 'data-testid': 'model-import-report', 'aria-live': 'polite' });
    const run = h('button', { class: 'primary', 'data-testid': 'model-import-run', onclick: () => void session.runModelImport() }, 'Import');
    const close = h('button', { 'data-testid': 'model-import-close', onclick: () => session.closeModelImport() }, 'Close');
    modal.body.append(kind.label, ...files.map((f) => f.row), name.label, format.label, labels.label, target.label, hint, report);
    modal.buttons.append(close, run);

    modal.onUpdate((state) => {
      const { choices, busy } = state;
      kind.set(choices.kind);
      for (const { file, chosen, button, row } of files) {
        row.hidden = !MODEL_FILES[choices.kind].includes(file);
        chosen.textContent = choices.files[file]?.name ?? 'none chosen';
        button.disabled = busy;
      }
      const form = choices.kind === 'form';
      name.set(choices.name);
      format.set(choices.format);
      labels.set(choices.labels);
      for (const field of [name, format, labels]) field.label.hidden = !form;
      target.set(choices.target);
      target.input.disabled = busy || session.summary === null;
      run.disabled = busy;
      close.disabled = busy;
      run.textContent = busy ? 'Working…' : 'Import';
      if (state.error !== null) {
        report.replaceChildren(h('p', { class: 'error' }, state.error));
      } else if (state.report !== null) {
        const { summary, details } = describeModelImport(state.report);
        report.replaceChildren(h('p', { class: 'summary' }, summary), h('ul', { class: 'notes' }, ...details.map((line) => h('li', {}, line))));
      } else {
        report.replaceChildren();
      }
    });
    return modal;
  }
}
