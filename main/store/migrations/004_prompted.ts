import type { Migration } from '../migrate.js';

const now = `(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;
const unsettled = (a: string) => `((${a}.state = 'pending' AND ${a}.origin != 'human') OR ${a}.stale_width IS NOT NULL)`;
const refusal = `SELECT RAISE(ABORT, 'a reviewed image cannot hold a pending prediction or a stale annotation')`;

/**
 * Provenance 'prompted': an instance a person asked the model for by drawing a box (the box-prompt tool), its mask
 * and class from the model's heads. Like a prediction it names its model; like a person's own work it is never
 * replaced by a pre-label run. SQLite cannot alter a CHECK, so the annotations table is rebuilt as it is with the
 * new origin allowed, keeping every row and its rowid (the order annotations were made), then its indexes and the
 * reviewed-image triggers of 003 (dropped first: they name the table) are made again.
 */
export const migration004: Migration = {
  version: 4,
  name: 'prompted',
  sql: `
    DROP TRIGGER annotations_reviewed_insert;
    DROP TRIGGER annotations_reviewed_update;
    DROP TRIGGER images_reviewed_settled;

    CREATE TABLE annotations_new (
      id           TEXT    PRIMARY KEY,
      image_id     INTEGER NOT NULL REFERENCES images (id),
      category_id  INTEGER NOT NULL REFERENCES categories (id),
      x            REAL    NOT NULL,
      y            REAL    NOT NULL,
      w            REAL    NOT NULL CHECK (w >= 0),
      h            REAL    NOT NULL CHECK (h >= 0),
      mask_counts  TEXT,
      mask_height  INTEGER CHECK (mask_height > 0),
      mask_width   INTEGER CHECK (mask_width > 0),
      score        REAL    CHECK (score BETWEEN 0 AND 1),
      origin       TEXT    NOT NULL CHECK (origin IN ('model', 'model-edited', 'human', 'prompted')),
      model_id     INTEGER REFERENCES models (id),
      state        TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'rejected')),
      created_at   TEXT    NOT NULL DEFAULT ${now},
      updated_at   TEXT    NOT NULL DEFAULT ${now},
      crowd        INTEGER NOT NULL DEFAULT 0 CHECK (crowd IN (0, 1)),
      stale_width  INTEGER CHECK (stale_width > 0),
      stale_height INTEGER CHECK (stale_height > 0 AND (stale_height IS NULL) = (stale_width IS NULL)),
      coco_id      INTEGER CHECK (coco_id >= 0),
      CHECK ((mask_counts IS NULL) = (mask_height IS NULL) AND (mask_counts IS NULL) = (mask_width IS NULL)),
      CHECK (origin = 'human' OR model_id IS NOT NULL)
    );
    INSERT INTO annotations_new (rowid, id, image_id, category_id, x, y, w, h, mask_counts, mask_height, mask_width,
        score, origin, model_id, state, created_at, updated_at, crowd, stale_width, stale_height, coco_id)
      SELECT rowid, id, image_id, category_id, x, y, w, h, mask_counts, mask_height, mask_width,
        score, origin, model_id, state, created_at, updated_at, crowd, stale_width, stale_height, coco_id
      FROM annotations ORDER BY rowid;
    DROP TABLE annotations;
    ALTER TABLE annotations_new RENAME TO annotations;
    CREATE INDEX annotations_image_category ON annotations (image_id, category_id);
    CREATE INDEX annotations_category_state ON annotations (category_id, state);
    CREATE INDEX annotations_model ON annotations (model_id);
    CREATE UNIQUE INDEX annotations_coco_id ON annotations (coco_id) WHERE coco_id IS NOT NULL;

    CREATE TRIGGER annotations_reviewed_insert BEFORE INSERT ON annotations
      WHEN ${unsettled('NEW')} AND (SELECT status FROM images WHERE id = NEW.image_id) = 'reviewed'
      BEGIN ${refusal}; END;
    CREATE TRIGGER annotations_reviewed_update BEFORE UPDATE OF state, origin, image_id, stale_width ON annotations
      WHEN ${unsettled('NEW')} AND (SELECT status FROM images WHERE id = NEW.image_id) = 'reviewed'
      BEGIN ${refusal}; END;
    CREATE TRIGGER images_reviewed_settled BEFORE UPDATE OF status ON images
      WHEN NEW.status = 'reviewed' AND EXISTS (SELECT 1 FROM annotations a WHERE a.image_id = NEW.id AND ${unsettled('a')})
      BEGIN ${refusal}; END;
  `,
};
