import { expect, it } from 'vitest';
import { pageQuery } from './images.js';
import { hasFullScan, queryPlan } from './queryPlan.js';
import { imageFile, temporaryProject } from './store.test-support.js';

// Timings of the same queries are bench:scan's (BENCHMARKS.md); here only what they read.
it('pages through 50,000 images in a real file with index reads only', () => {
  const project = temporaryProject();
  try {
    const { images, db } = project.store;
    const statuses = ['new', 'predicted', 'in-review', 'reviewed'] as const;
    const ids = images.writeFiles(
      Array.from({ length: 50_000 }, (_, i) => ({
        file: imageFile(`batch_${String(i % 50).padStart(2, '0')}/img_${String(i).padStart(6, '0')}.jpg`),
      })),
    );
    db.transaction(() => {
      const set = db.prepare(`UPDATE images SET status = ? WHERE id = ?`);
      ids.forEach((id, i) => set.run(statuses[i % 4], id));
    })();

    const first = images.list({ limit: 100 });
    const reviewed = images.list({ status: 'reviewed', after: 'batch_25/', limit: 100 });
    const counts = images.countByStatus();
    const rare = images.list({ search: 'IMG_049999', limit: 100 });

    expect(first.items).toHaveLength(100);
    expect(first.items[0]!.path).toBe('batch_00/img_000000.jpg');
    expect(reviewed.items.every((i) => i.status === 'reviewed' && i.path > 'batch_25/')).toBe(true);
    expect(rare.items.map((i) => i.path)).toEqual(['batch_49/img_049999.jpg']);
    expect(counts).toEqual({ new: 12_500, predicted: 12_500, 'in-review': 12_500, reviewed: 12_500, error: 0 });
    for (const q of [{}, { status: 'reviewed' as const, after: 'batch_25/' }, { search: 'img_0499' }]) {
      const { sql, params } = pageQuery(q, 101);
      expect(hasFullScan(queryPlan(db, sql, params))).toBe(false);
    }
  } finally {
    project.dispose();
  }
});
