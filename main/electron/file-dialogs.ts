// What main's file dialogs ask for: where to save a COCO export, a model's .onnx, card or X-AnyLabeling YAML, an
// annotation import's source (a COCO file, the folder of LabelMe files, a YOLO dataset's data.yaml). Type-only use of
// electron, so it runs under Node.
import path from 'node:path';
import type { OpenDialogOptions, SaveDialogOptions } from 'electron';
import type { DialogPurpose } from '../services/files.js';

export type FileDialog =
  | { readonly kind: 'open'; readonly options: OpenDialogOptions }
  | { readonly kind: 'save'; readonly options: SaveDialogOptions };

export function fileDialog(purpose: DialogPurpose, projectFolder: string | null): FileDialog {
  const start = projectFolder === null ? {} : { defaultPath: projectFolder };
  const open = (options: OpenDialogOptions): FileDialog => ({ kind: 'open', options: { ...start, ...options } });
  switch (purpose) {
    case 'export-coco':
      return { kind: 'save', options: { defaultPath: projectFolder === null ? 'annotations.json' : path.join(projectFolder, 'annotations.json'), title: 'Export COCO annotations', buttonLabel: 'Export', filters: [{ name: 'COCO JSON', extensions: ['json'] }], properties: ['showOverwriteConfirmation'] } };
    case 'model-onnx':
      return open({ title: 'Import a model: its ONNX file', buttonLabel: 'Choose', properties: ['openFile'], filters: [{ name: 'ONNX model', extensions: ['onnx'] }] });
    case 'model-card':
      return open({ title: 'Import a model: its Loupe card', buttonLabel: 'Choose', properties: ['openFile'], filters: [{ name: 'Loupe model card', extensions: ['json'] }] });
    case 'model-yaml':
      return open({ title: 'Import an X-AnyLabeling model: its YAML', buttonLabel: 'Choose', properties: ['openFile'], filters: [{ name: 'X-AnyLabeling model', extensions: ['yaml', 'yml'] }] });
    case 'import-coco':
      return open({ title: 'Import COCO annotations', buttonLabel: 'Import', properties: ['openFile'], filters: [{ name: 'COCO JSON', extensions: ['json'] }] });
    case 'import-labelme':
      return open({ title: 'Import LabelMe files: the folder holding them', buttonLabel: 'Import', properties: ['openDirectory'] });
    case 'import-yolo':
      return open({ title: 'Import a YOLO dataset: its data.yaml', buttonLabel: 'Import', properties: ['openFile'], filters: [{ name: 'YOLO dataset', extensions: ['yaml', 'yml'] }] });
  }
}

/** The path a save dialog returned, with the extension its purpose needs (some platforms do not add the filter's). */
export function savedPath(purpose: 'export-coco', chosen: string): string {
  return purpose === 'export-coco' && !chosen.toLowerCase().endsWith('.json') ? `${chosen}.json` : chosen;
}
