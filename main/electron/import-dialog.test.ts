import { describe, expect, it } from 'vitest';
import { importDialogOptions } from './import-dialog.js';

describe('the import dialog main shows', () => {
  it('asks for a COCO JSON file, a LabelMe folder or a YOLO data.yaml, starting in the project folder', () => {
    expect(importDialogOptions('coco', '/photos')).toMatchObject({ defaultPath: '/photos', properties: ['openFile'], filters: [{ extensions: ['json'] }] });
    expect(importDialogOptions('labelme', '/photos')).toMatchObject({ properties: ['openDirectory'] });
    expect(importDialogOptions('yolo', null)).toMatchObject({ properties: ['openFile'], filters: [{ extensions: ['yaml', 'yml'] }] });
    expect(importDialogOptions('yolo', null)).not.toHaveProperty('defaultPath');
  });
});
