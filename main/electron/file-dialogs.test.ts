import { describe, expect, it } from 'vitest';
import { fileDialog, savedPath } from './file-dialogs.js';

describe('the file dialogs main shows', () => {
  it('asks for a COCO JSON file, a LabelMe folder or a YOLO data.yaml to import, starting in the project folder', () => {
    expect(fileDialog('import-coco', '/photos')).toMatchObject({ kind: 'open', options: { defaultPath: '/photos', properties: ['openFile'], filters: [{ extensions: ['json'] }] } });
    expect(fileDialog('import-labelme', '/photos')).toMatchObject({ kind: 'open', options: { properties: ['openDirectory'] } });
    expect(fileDialog('import-yolo', null)).toMatchObject({ kind: 'open', options: { properties: ['openFile'], filters: [{ extensions: ['yaml', 'yml'] }] } });
    expect(fileDialog('import-yolo', null).options).not.toHaveProperty('defaultPath');
  });

  it('saves a COCO export as .json, asking before overwriting', () => {
    expect(fileDialog('export-coco', '/photos')).toMatchObject({
      kind: 'save',
      options: { defaultPath: '/photos/annotations.json', filters: [{ extensions: ['json'] }], properties: ['showOverwriteConfirmation'] },
    });
  });

  it('adds .json to a saved export\'s name when the platform did not', () => {
    expect(savedPath('export-coco', '/out/train')).toBe('/out/train.json');
    expect(savedPath('export-coco', '/out/train.JSON')).toBe('/out/train.JSON');
  });

  it('opens a model\'s .onnx, its card or an X-AnyLabeling YAML', () => {
    expect(fileDialog('model-onnx', null)).toMatchObject({ kind: 'open', options: { properties: ['openFile'], filters: [{ extensions: ['onnx'] }] } });
    expect(fileDialog('model-card', null)).toMatchObject({ kind: 'open', options: { filters: [{ extensions: ['json'] }] } });
    expect(fileDialog('model-yaml', null)).toMatchObject({ kind: 'open', options: { filters: [{ extensions: ['yaml', 'yml'] }] } });
  });
});
