import { describe, expect, it } from 'vitest';
import { ModelCardError, parseModelCard } from './card.js';

/** A card as tools/model/export.py writes it (trimmed of its training and verification notes). */
const exportedZooCard = {
  format: 'onnx-zoo-maskrcnn',
  name: 'loupe-shapes-zoo',
  labels: ['__background__', 'circle', 'rectangle', 'triangle', 'star'],
  input: {
    name: 'image', dtype: 'float32', shape: [3, 'H', 'W'], layout: 'CHW', color: 'BGR', range: [0, 255],
    mean: [102.9801, 115.9465, 122.7717], resize: 'caller', min_size: 384, max_size: 512, pad_multiple: 32,
  },
  outputs: {
    boxes: { name: 'boxes', dtype: 'float32', shape: ['N', 4] },
    labels: { name: 'labels', dtype: 'int64', shape: ['N'] },
    scores: { name: 'scores', dtype: 'float32', shape: ['N'] },
    masks: { name: 'masks', dtype: 'float32', shape: ['N', 1, 28, 28] },
  },
  thresholds: { score: 0.5, mask: 0.5 },
  sha256: 'e2435b02ddfa1562ab02c61f88a1e6c5715706c6d1805ee80305cba2e04123d0',
  metrics: null,
};

const compactCard = {
  name: 'shapes',
  format: 'torchvision-maskrcnn',
  labels: ['__background__', 'circle'],
  input: { name: 'image', minSize: 384, maxSize: 512 },
  outputs: { boxes: 'boxes', labels: 'labels', scores: 'scores', masks: 'masks' },
};

describe('model cards', () => {
  it("reads tools/model's spelling into the same fields", () => {
    const card = parseModelCard(exportedZooCard, 'zoo.json');
    expect(card.input).toMatchObject({
      name: 'image', minSize: 384, maxSize: 512, channels: 'BGR', scale: 255, mean: [102.9801, 115.9465, 122.7717],
      sizeDivisor: 32, resizesInternally: false,
    });
    expect(card.outputs).toEqual({ boxes: 'boxes', labels: 'labels', scores: 'scores', masks: 'masks' });
    expect(card.metrics).toBeNull();
  });

  it('fills torchvision defaults into a compact card', () => {
    const card = parseModelCard(compactCard, 'shapes.json');
    expect(card.input).toEqual({
      name: 'image', minSize: 384, maxSize: 512, channels: 'RGB', scale: 1, mean: [0, 0, 0], sizeDivisor: 1, resizesInternally: true,
    });
    expect(card.thresholds).toEqual({ score: 0.5, mask: 0.5 });
  });

  it('names the file and every bad field', () => {
    const bad = { ...compactCard, labels: ['__background__'], input: { name: 'image', minSize: 600, maxSize: 512 }, outputs: { boxes: 'b', labels: 'l', scores: 's' } };
    expect(() => parseModelCard(bad, 'bad.json')).toThrow(ModelCardError);
    expect(() => parseModelCard(bad, 'bad.json')).toThrow(
      /^bad\.json: invalid model card: .*labels: needs the background at index 0 and at least one class.*input: minSize must not exceed maxSize.*outputs\.masks: format torchvision-maskrcnn needs a masks output/,
    );
  });

  it('refuses masks on a box-only format and an unknown format', () => {
    expect(() => parseModelCard({ ...compactCard, format: 'torchvision-fasterrcnn' }, 'boxes.json')).toThrow(
      'boxes.json: invalid model card: outputs.masks: format torchvision-fasterrcnn is box-only',
    );
    expect(() => parseModelCard({ ...compactCard, format: 'yolo' }, 'y.json')).toThrow(/y\.json: invalid model card: format: /);
  });
});
