import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageId, type CategoryId } from '../../app/model/index.js';
import { pageQuery } from './images.js';
import { hasFullScan, queryPlan } from './queryPlan.js';
import { humanBox, imageFile, temporaryProject } from './store.test-support.js';
import { diffOf } from '../../app/history/diff.js';

let project: ReturnType<typeof temporaryProject>;
beforeEach(() => {
  project = temporaryProject();
});
afterEach(() => project.dispose());

describe('images', () => {
  it('writes new files as new (or error) and maps rows to ImageRecord', () => {
    const [a, b] = project.store.images.writeFiles([
      { file: imageFile('a/one.jpg', { width: 30, height: 20, orientation: 6 }) },
      { file: imageFile('b.png', { width: 0, height: 0, error: 'Input file has corrupt header' }) },
    ]);
    expect(project.store.images.get(a!)).toEqual({
      id: a, path: 'a/one.jpg', width: 30, height: 20, orientation: 6, hash: 'hash-of-a/one.jpg',
      status: 'new', error: null, missing: false,
    });
    expect(project.store.images.getByPath('b.png')).toMatchObject({ id: b, status: 'error', error: 'Input file has corrupt header' });
  });

  it('an update keeps the review status, leaves error once the file decodes, and can move the path (same content)', () => {
    const { images } = project.store;
    const [id] = images.writeFiles([{ file: imageFile('x.jpg', { error: 'bad' }) }]);
    images.writeFiles([{ id: id!, file: imageFile('x.jpg') }]);
    expect(images.get(id!)).toMatchObject({ status: 'new', error: null });
    images.setStatus(id!, 'reviewed');
    images.writeFiles([{ id: id!, file: imageFile('moved/x.jpg', { hash: 'hash-of-x.jpg' }) }]);
    expect(images.get(id!)).toMatchObject({ path: 'moved/x.jpg', status: 'reviewed' });
    expect(() => images.writeFiles([{ id: ImageId(999), file: imageFile('z.jpg') }])).toThrow('image 999 does not exist');
  });

  it('marks images missing and found again', () => {
    const { images } = project.store;
    const ids = images.writeFiles([{ file: imageFile('a.jpg') }, { file: imageFile('b.jpg') }]);
    expect(images.setMissing(ids, true)).toBe(2);
    expect(images.setMissing(ids, true)).toBe(0);
    expect(images.get(ids[0]!)!.missing).toBe(true);
    images.setMissing([ids[0]!], false);
    expect(images.get(ids[0]!)!.missing).toBe(false);
  });

  it('pages by path with a cursor, filtered by status, search and category', () => {
    const { images, categories, annotations } = project.store;
    const ids = images.writeFiles(
      Array.from({ length: 25 }, (_, i) => ({ file: imageFile(`dir${i % 2}/img_${String(i).padStart(3, '0')}.jpg`) })),
    );
    images.setStatus(ids.slice(0, 5), 'reviewed');
    const all: string[] = [];
    let after: string | null = null;
    do {
      const page = images.list({ limit: 10, after });
      all.push(...page.items.map((i) => i.path));
      after = page.next;
    } while (after !== null);
    expect(all).toHaveLength(25);
    expect(all).toEqual([...all].sort());

    expect(images.list({ status: 'reviewed', limit: 100 }).items.map((i) => i.id).sort((a, b) => a - b)).toEqual(ids.slice(0, 5));
    expect(images.list({ search: 'DIR1/IMG_01', limit: 100 }).items.map((i) => i.path)).toEqual([
      'dir1/img_011.jpg', 'dir1/img_013.jpg', 'dir1/img_015.jpg', 'dir1/img_017.jpg', 'dir1/img_019.jpg',
    ]);
    expect(images.list({ search: '%', limit: 100 }).items).toEqual([]);

    const [star] = categories.ensure(['star']);
    annotations.apply(ids[7]!, diffOf({ added: [humanBox(ids[7]!, star!.id)] }));
    const rejected = { ...humanBox(ids[8]!, star!.id), state: 'rejected' as const };
    annotations.apply(ids[8]!, diffOf({ added: [rejected] }));
    expect(images.list({ categoryId: star!.id, limit: 10 }).items.map((i) => i.id)).toEqual([ids[7]]);

    expect(images.countByStatus()).toEqual({ new: 18, predicted: 0, 'in-review': 2, reviewed: 5, error: 0 });
  });

  it('every page query reads an index, never the whole table', () => {
    const { db } = project.store;
    const queries = [
      {},
      { after: 'dir0/x.jpg' },
      { status: 'reviewed' as const },
      { status: 'new' as const, after: 'b' },
      { search: 'cat' },
      { categoryId: 3 as CategoryId },
      { status: 'predicted' as const, categoryId: 3 as CategoryId, search: 'x' },
    ];
    for (const q of queries) {
      const { sql, params } = pageQuery(q, 51);
      const plan = queryPlan(db, sql, params);
      expect(hasFullScan(plan), `${JSON.stringify(q)}: ${plan.join(' | ')}`).toBe(false);
      expect(plan.join(' | ')).toMatch(/USING (COVERING )?INDEX (images_status_path|sqlite_autoindex_images_1)/);
      expect(plan.join(' | '), 'sorts in memory').not.toMatch(/TEMP B-TREE/);
    }
    const counts = queryPlan(db, 'SELECT status, count(*) AS n FROM images GROUP BY status');
    expect(counts.join(' | ')).toMatch(/USING COVERING INDEX images_status_path/);
  });
});
