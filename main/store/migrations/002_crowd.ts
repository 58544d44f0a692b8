import type { Migration } from '../migrate.js';

/** COCO's iscrowd: a region covering a group of objects, kept through import, edits and export. */
export const migration002: Migration = {
  version: 2,
  name: 'crowd',
  sql: `ALTER TABLE annotations ADD COLUMN crowd INTEGER NOT NULL DEFAULT 0 CHECK (crowd IN (0, 1));`,
};
