// The Export dialog: the format and `loupe export`'s options for it (with its defaults, from the contract), where it
// will be written (COCO: Save as… asks main's save dialog), and then what was written. Built when the session opens it, its controls updated in place;
// every change goes to the session, which owns the choices and the report.
import { EXPORT_FORMATS, type ExportFormat } from '../../app/ipc/exchange-options.js';
import { describeExport, FORMAT_LABELS, type ExportDialogState } from '../editor/transfers.js';
import { h } from './dom.js';
import { checkbox, numberField, select, Modal, SessionDialog } from './modal.js';

/** Where each format goes unless a file is chosen: the renderer names no path, main writes into the project's export folder. */
const DESTINATION: Readonly<Record<ExportFormat, string>> = {
  coco: '.loupe/exports/coco-<time>.json',
  yolo: '.loupe/exports/yolo-<time>/ (data.yaml, images/, labels/)',
  voc: '.loupe/exports/voc-<time>/ (Annotations/, SegmentationObject/, SegmentationClass/, JPEGImages/, ImageSets/)',
  labelme: '.loupe/exports/labelme-<time>/ (one JSON per image)',
};

export class ExportDialog extends SessionDialog<ExportDialogState> {
  protected state(): ExportDialogState | null {
    return this.session.exportDialog;
  }

  protected build(): Modal<ExportDialogState> {
    const session = this.session;
    const modal = new Modal<ExportDialogState>(this.host, 'export-dialog', 'Export', () => session.closeExport());
    const format = select('Format', 'export-format', EXPORT_FORMATS.map((f) => [f, FORMAT_LABELS[f]]), (value) => session.chooseExport({ format: value as ExportFormat }));
    const scope = select('Images', 'export-scope', [['reviewed', 'Reviewed images'], ['all', 'Every image']], (value) => {
      const chosen = value as 'reviewed' | 'all';
      session.chooseExport(session.exportDialog?.choices.format === 'coco' ? { coco: { scope: chosen } } : { dataset: { scope: chosen } });
    });
    const pending = checkbox('Include pending predictions (not yet accepted or rejected)', 'export-pending', (on) =>
      session.chooseExport(session.exportDialog?.choices.format === 'coco' ? { coco: { includePending: on } } : { dataset: { includePending: on } }));
    const segmentation = select('Masks', 'export-segmentation', [['rle', 'RLE (exact)'], ['polygons', 'Polygons']], (value) =>
      session.chooseExport({ coco: { segmentation: value as 'rle' | 'polygons' } }));
    const strict = checkbox('Strict polygons: masks with holes as polygons too (holes filled)', 'export-polygons-strict', (on) => session.chooseExport({ coco: { polygonsStrict: on } }));
    const scores = checkbox('Keep the model\'s scores', 'export-scores', (on) => session.chooseExport({ coco: { scores: on } }));
    const task = select('YOLO task', 'export-task', [['auto', 'Auto (polygons when there are masks)'], ['segment', 'Segment (polygons)'], ['detect', 'Detect (boxes)']], (value) =>
      session.chooseExport({ dataset: { task: value as 'auto' | 'segment' | 'detect' } }));
    const valFraction = numberField('Validation share', 'export-val-fraction', { min: 0, max: 1, step: 0.05 }, (value) => session.chooseExport({ dataset: { valFraction: value } }));
    const seed = numberField('Split seed', 'export-seed', { step: 1 }, (value) => session.chooseExport({ dataset: { seed: Math.trunc(value) } }));
    const images = select('Images in the dataset', 'export-images', [['link', 'Hard links (copies across disks)'], ['copy', 'Copies'], ['none', 'None']], (value) =>
      session.chooseExport({ dataset: { images: value as 'link' | 'copy' | 'none' } }));
    const beside = checkbox('Beside each image (replacing the LabelMe files there)', 'export-beside', (on) => session.chooseExport({ dataset: { besideImages: on } }));
    const destination = h('p', { class: 'hint', 'data-testid': 'export-destination' });
    const saveAs = h('button', { 'data-testid': 'export-choose-file', onclick: () => void session.chooseExportFile() }, 'Save as…');
    const intoProject = h('button', { 'data-testid': 'export-default-file', onclick: () => session.clearExportFile() }, 'Into the project');
    const where = h('div', { class: 'field' }, destination, saveAs, intoProject);
    const report = h('div', { class: 'report', 'data-testid': 'export-report', 'aria-live': 'polite' });
    const run = h('button', { class: 'primary', 'data-testid': 'export-run', onclick: () => void session.runExport() }, 'Export');
    const close = h('button', { 'data-testid': 'export-close', onclick: () => session.closeExport() }, 'Close');
    modal.body.append(format.label, scope.label, pending.label, segmentation.label, strict.label, scores.label, task.label, valFraction.label, seed.label,
      images.label, beside.label, where, report);
    modal.buttons.append(close, run);

    modal.onUpdate((state) => {
      const { choices, busy } = state;
      const f = choices.format;
      const coco = f === 'coco';
      format.set(f);
      scope.set(coco ? choices.coco.scope : choices.dataset.scope);
      pending.set(coco ? choices.coco.includePending : choices.dataset.includePending);
      segmentation.set(choices.coco.segmentation);
      strict.set(choices.coco.polygonsStrict);
      strict.input.disabled = choices.coco.segmentation !== 'polygons';
      scores.set(choices.coco.scores);
      task.set(choices.dataset.task);
      valFraction.set(choices.dataset.valFraction);
      seed.set(choices.dataset.seed);
      images.set(choices.dataset.images);
      beside.set(choices.dataset.besideImages);
      for (const field of [segmentation, strict, scores]) field.label.hidden = !coco;
      task.label.hidden = f !== 'yolo';
      for (const field of [valFraction, seed, images]) field.label.hidden = f !== 'yolo' && f !== 'voc';
      beside.label.hidden = f !== 'labelme';
      const folder = session.summary?.folder ?? 'the project';
      const chosen = coco ? state.file : null;
      destination.textContent = chosen !== null
        ? `Writes ${chosen.name} (the file chosen)`
        : f === 'labelme' && choices.dataset.besideImages
          ? `Writes one LabelMe file beside each image in ${folder}`
          : `Writes into ${folder}/${DESTINATION[f]}`;
      saveAs.hidden = !coco;
      intoProject.hidden = chosen === null;
      saveAs.disabled = busy;
      run.disabled = busy;
      run.textContent = busy ? 'Exporting…' : 'Export';
      if (state.error !== null) {
        report.replaceChildren(h('p', { class: 'error' }, `Nothing was written: ${state.error}`));
      } else if (state.report !== null) {
        const { summary, details } = describeExport(state.report);
        report.replaceChildren(h('p', { class: 'summary' }, summary), h('ul', {}, ...details.map((line) => h('li', {}, line))));
      } else {
        report.replaceChildren();
      }
    });
    return modal;
  }
}
