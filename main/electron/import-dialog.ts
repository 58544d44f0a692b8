// What main's file dialog asks for when the person imports annotations: a COCO file, the folder of LabelMe files,
// a YOLO dataset's data.yaml. Type-only use of electron, so it runs under Node.
import type { OpenDialogOptions } from 'electron';
import type { ImportFormat } from '../../app/ipc/contract.js';

export function importDialogOptions(format: ImportFormat, projectFolder: string | null): OpenDialogOptions {
  const start = projectFolder === null ? {} : { defaultPath: projectFolder };
  switch (format) {
    case 'coco':
      return { ...start, title: 'Import COCO annotations', buttonLabel: 'Import', properties: ['openFile'], filters: [{ name: 'COCO JSON', extensions: ['json'] }] };
    case 'labelme':
      return { ...start, title: 'Import LabelMe files: the folder holding them', buttonLabel: 'Import', properties: ['openDirectory'] };
    case 'yolo':
      return { ...start, title: 'Import a YOLO dataset: its data.yaml', buttonLabel: 'Import', properties: ['openFile'], filters: [{ name: 'YOLO dataset', extensions: ['yaml', 'yml'] }] };
  }
}
