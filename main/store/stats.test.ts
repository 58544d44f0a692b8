import { afterEach, beforeEach, expect, it } from 'vitest';
import { imageFile, humanBox, temporaryProject } from './store.test-support.js';
import { diffOf } from '../../app/history/diff.js';

let project: ReturnType<typeof temporaryProject>;
beforeEach(() => {
  project = temporaryProject();
});
afterEach(() => project.dispose());

it('summarises images by status, missing and failed files, and instances by class', () => {
  const { images, categories, annotations, stats } = project.store;
  const ids = images.writeFiles([
    { file: imageFile('a.jpg') },
    { file: imageFile('b.jpg') },
    { file: imageFile('broken.png', { error: 'pngload: bad header' }) },
  ]);
  images.setMissing([ids[1]!], true);
  const [circle, star, empty] = categories.ensure(['circle', 'star', 'triangle']);
  annotations.apply(ids[0]!, diffOf({
    added: [humanBox(ids[0]!, circle!.id), humanBox(ids[0]!, circle!.id), { ...humanBox(ids[0]!, star!.id), state: 'rejected' }],
  }));
  expect(stats.summary()).toEqual({
    images: 3,
    byStatus: { new: 1, predicted: 0, 'in-review': 1, reviewed: 0, error: 1 },
    missing: 1,
    failed: [{ imageId: ids[2], path: 'broken.png', stage: 'scan', reason: 'pngload: bad header' }],
    stale: [],
    classes: [
      { categoryId: circle!.id, name: 'circle', color: circle!.color, instances: 2 },
      { categoryId: star!.id, name: 'star', color: star!.color, instances: 0 },
      { categoryId: empty!.id, name: 'triangle', color: empty!.color, instances: 0 },
    ],
  });
  expect(new Set([circle!.color, star!.color, empty!.color]).size).toBe(3);
});
