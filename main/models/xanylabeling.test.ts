import { describe, expect, it } from 'vitest';
import { readXAnyLabelingConfig, XAnyLabelingConfigError } from './xanylabeling.js';

const maskRcnn = `
type: mask_rcnn
name: shapes-r1
display_name: Shapes Mask R-CNN
model_path: shapes.onnx
input_width: 640
input_height: 640
score_threshold: 0.35
nms_threshold: 0.45
classes:
  - circle
  - rectangle
  - triangle
`;

describe('readXAnyLabelingConfig', () => {
  it('maps type, display_name, model_path, classes and the score threshold, and names what it ignores', () => {
    const read = readXAnyLabelingConfig(maskRcnn, 'shapes.yaml');
    expect(read.form).toEqual({
      name: 'Shapes Mask R-CNN',
      format: 'torchvision-maskrcnn',
      labels: ['circle', 'rectangle', 'triangle'],
      scoreThreshold: 0.35,
    });
    expect(read.model).toEqual({ kind: 'file', path: 'shapes.onnx' });
    expect(read.ignored).toEqual([
      'input_width: the card takes the sizes from the format',
      'input_height: the card takes the sizes from the format',
      'nms_threshold: the graph does its own non-maximum suppression',
    ]);
  });

  it('reads conf_threshold, a URL model_path and classes written as an index mapping', () => {
    const read = readXAnyLabelingConfig(
      'type: faster_rcnn\nname: boxes\nmodel_path: https://example.org/m.onnx\nconf_threshold: 0.25\nclasses:\n  1: car\n  0: person\n',
      'b.yaml',
    );
    expect(read.form).toMatchObject({ name: 'boxes', format: 'torchvision-fasterrcnn', labels: ['person', 'car'], scoreThreshold: 0.25 });
    expect(read.model).toEqual({ kind: 'url', url: 'https://example.org/m.onnx' });
  });

  it('refuses a YOLO type with a message listing what Loupe runs, unless a format is chosen', () => {
    const yolo = maskRcnn.replace('type: mask_rcnn', 'type: yolov8_seg');
    expect(() => readXAnyLabelingConfig(yolo, 'y.yaml')).toThrow(
      /y\.yaml: type "yolov8_seg" has no Loupe format.*torchvision-maskrcnn, onnx-zoo-maskrcnn, torchvision-fasterrcnn/,
    );
    const chosen = readXAnyLabelingConfig(yolo, 'y.yaml', 'onnx-zoo-maskrcnn');
    expect(chosen.form.format).toBe('onnx-zoo-maskrcnn');
    expect(chosen.ignored[0]).toBe('type: "yolov8_seg" replaced by the chosen format onnx-zoo-maskrcnn');
  });

  it.each([
    ['type: [', /y\.yaml: not valid YAML/],
    ['- a\n- b', /expected a mapping of fields/],
    ['name: x\nmodel_path: a.onnx\nclasses: [a]', /missing "type"/],
    ['type: mask_rcnn\nmodel_path: a.onnx\nclasses: [a]', /missing "name" or "display_name"/],
    ['type: mask_rcnn\nname: x\nclasses: [a]', /missing "model_path"/],
    ['type: mask_rcnn\nname: x\nmodel_path: a.pt\nclasses: [a]', /"a\.pt" is not an \.onnx file/],
    ['type: mask_rcnn\nname: x\nmodel_path: a.onnx', /missing "classes"/],
    ['type: mask_rcnn\nname: x\nmodel_path: a.onnx\nclasses: []', /"classes" is empty/],
    ['type: mask_rcnn\nname: x\nmodel_path: a.onnx\nclasses: car', /"classes" must be a list/],
    ['type: mask_rcnn\nname: x\nmodel_path: a.onnx\nclasses: [a, {b: 1}]', /"classes" entry 1 is not a name/],
    ['type: mask_rcnn\nname: x\nmodel_path: a.onnx\nclasses: [a]\nscore_threshold: 45', /"score_threshold" must be a number between 0 and 1, not 45/],
  ])('refuses %j clearly', (text, message) => {
    expect(() => readXAnyLabelingConfig(text, 'y.yaml')).toThrow(XAnyLabelingConfigError);
    expect(() => readXAnyLabelingConfig(text, 'y.yaml')).toThrow(message);
  });
});
