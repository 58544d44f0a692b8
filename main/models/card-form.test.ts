import { describe, expect, it } from 'vitest';
import { cardFromForm, CardFormError } from './card-form.js';

const maskGraph = { inputNames: ['image'], outputNames: ['6568', '6570', '6572', '6887'] };
const boxGraph = { inputNames: ['images'], outputNames: ['boxes', 'labels', 'scores'] };

describe('cardFromForm', () => {
  it('fills an ONNX Zoo card from the form and the graph names, adding the background label', () => {
    const card = cardFromForm(
      { name: ' Zoo ', format: 'onnx-zoo-maskrcnn', labels: ['person', 'bicycle'], scoreThreshold: 0.3 },
      maskGraph,
      'zoo.onnx',
    );
    expect(card).toMatchObject({
      name: 'Zoo',
      format: 'onnx-zoo-maskrcnn',
      labels: ['__background__', 'person', 'bicycle'],
      input: { name: 'image', channels: 'BGR', scale: 255, sizeDivisor: 32, resizesInternally: false, minSize: 800, maxSize: 1333 },
      outputs: { boxes: '6568', labels: '6570', scores: '6572', masks: '6887' },
      thresholds: { score: 0.3, mask: 0.5 },
    });
  });

  it('keeps a background the person already listed, and builds box-only cards without masks', () => {
    const card = cardFromForm(
      { name: 'cars', format: 'torchvision-fasterrcnn', labels: ['background', 'car'], minSize: 320, maxSize: 512 },
      boxGraph,
      'cars.onnx',
    );
    expect(card.labels).toEqual(['__background__', 'car']);
    expect(card.outputs).toEqual({ boxes: 'boxes', labels: 'labels', scores: 'scores' });
    expect(card.input).toMatchObject({ name: 'images', channels: 'RGB', scale: 1, minSize: 320, maxSize: 512 });
  });

  it.each([
    [{ name: '', format: 'torchvision-maskrcnn', labels: ['a'] }, /name: a model needs a name/],
    [{ name: 'm', format: 'yolo', labels: ['a'] }, /format: format must be one of torchvision-maskrcnn/],
    [{ name: 'm', format: 'torchvision-maskrcnn', labels: [] }, /labels: list at least one class/],
    [{ name: 'm', format: 'torchvision-maskrcnn', labels: ['a', 'a'] }, /class names must be unique/],
    [{ name: 'm', format: 'torchvision-maskrcnn', labels: ['a', ' '] }, /labels\.1: a class name cannot be empty/],
    [{ name: 'm', format: 'torchvision-maskrcnn', labels: ['a'], scoreThreshold: 2 }, /scoreThreshold: must be between 0 and 1/],
    [{ name: 'm', format: 'torchvision-maskrcnn', labels: ['a'], minSize: 900, maxSize: 600 }, /minSize must not exceed maxSize/],
  ])('refuses an invalid form %#, naming the field', (form, message) => {
    expect(() => cardFromForm(form, maskGraph, 'm.onnx')).toThrow(CardFormError);
    expect(() => cardFromForm(form, maskGraph, 'm.onnx')).toThrow(message);
  });

  it('refuses a graph whose outputs do not fit the chosen format', () => {
    expect(() => cardFromForm({ name: 'm', format: 'torchvision-maskrcnn', labels: ['a'] }, boxGraph, 'm.onnx')).toThrow(
      'm.onnx: format torchvision-maskrcnn expects 1 input and 4 outputs (boxes, labels, scores, masks); the graph has inputs [images] and outputs [boxes, labels, scores]',
    );
  });
});
